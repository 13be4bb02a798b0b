import Foundation
import Testing
import TributaryKernels
import TributaryKernelsAVX2
import TributaryKernelsAVX512

/// The decode attention kernels against plain double-precision loops, in every kernel build.
@Suite("Attention kernels")
struct AttentionKernelTests {
    /// Deterministic values in [-1, 1).
    static func values(_ count: Int, seed: Int) -> [Float] {
        (0..<count).map { Float(((($0 &+ seed) &* 2654435761) >> 8) % 2000) / 1000 - 1 }
    }

    /// Deterministic values in [-1, 1) in half precision, as the KV cache holds them.
    static func halves(_ count: Int, seed: Int) -> [Float16] { values(count, seed: seed).map { Float16($0) } }

    @Test("scores and weighted values equal the plain loops (widths with and without tails, counts past groups of eight)")
    func matchesPlainLoops() {
        for kernels in QuantizedKernelTests.kernelSets {
            for (width, count) in [(64, 8), (64, 21), (256, 13), (40, 9), (7, 3)] {
                let stride = width + 16
                let query = Self.values(width, seed: 1)
                let keys = Self.halves(count * stride, seed: 2)
                let values = Self.halves(count * stride, seed: 3)
                let scale: Float = 0.125
                var scores = [Float](repeating: .nan, count: count)
                kernels.attentionScores(query, keys, stride, count, width, scale, &scores)
                for i in 0..<count {
                    let expected = (0..<width).reduce(0.0) { $0 + Double(query[$1]) * Double(Float(keys[i * stride + $1])) } * Double(scale)
                    #expect(abs(Double(scores[i]) - expected) < 1e-5, "\(kernels.name) width \(width) position \(i)")
                }
                // Accumulates into what the output holds.
                var output = [Float](repeating: 0.5, count: width)
                kernels.attentionValues(scores, values, stride, count, width, &output)
                for j in 0..<width {
                    let expected = 0.5 + (0..<count).reduce(0.0) { $0 + Double(scores[$1]) * Double(Float(values[$1 * stride + j])) }
                    #expect(abs(Double(output[j]) - expected) < 1e-4, "\(kernels.name) width \(width) column \(j)")
                }
            }
        }
    }

    @Test("a position's score does not depend on how many positions share the call")
    func scoresIndependentOfCount() {
        for kernels in QuantizedKernelTests.kernelSets {
            let width = 64, count = 19
            let query = Self.values(width, seed: 4), keys = Self.halves(count * width, seed: 5)
            var all = [Float](repeating: 0, count: count)
            kernels.attentionScores(query, keys, width, count, width, 1, &all)
            for i in 0..<count {
                var one: Float = 0
                keys.withUnsafeBufferPointer { kernels.attentionScores(query, $0.baseAddress! + i * width, width, 1, width, 1, &one) }
                #expect(one == all[i], "\(kernels.name) position \(i)")
            }
        }
    }

    @Test("rounding to half precision: exact for halves, nearest half otherwise, clamped beyond ±65504, NaN kept")
    func roundsToHalf() {
        for kernels in QuantizedKernelTests.kernelSets {
            var values: [Float] = Self.values(37, seed: 6).map { $0 * 3 }
            values += [70000, -1e9, 65504, 1e-8, .nan, .infinity, 0.1, 2049]
            var rounded = values
            kernels.roundHalf(&rounded, rounded.count)
            for (index, value) in values.enumerated() {
                let expected: Float = value.isNaN ? .nan : Float(Float16(min(max(value, -65504), 65504)))
                #expect(rounded[index] == expected || (value.isNaN && rounded[index].isNaN), "\(kernels.name) \(value) -> \(rounded[index])")
            }
            #expect(rounded[values.count - 2] == Float(Float16(0.1)) && rounded[values.count - 2] != 0.1)
            #expect(rounded[values.count - 1] == 2048, "2049 is not a half; ties to even give 2048")
        }
    }
}
