import Foundation
import Testing
import TributaryKernels
import TributaryKernelsAVX2
import TributaryKernelsAVX512

/// Softmax and the gated activations in every kernel build: within float32 rounding of a float64
/// reference, and the same bits in every build (each does the same operations per element).
@Suite("Softmax and gated activations")
struct VectorExpTests {
    static var kernelSets: [QuantizedKernelSet] { QuantizedKernelTests.kernelSets }

    static func randomValues(_ count: Int, in range: ClosedRange<Float>) -> [Float] {
        var random = SystemRandomNumberGenerator()
        return (0..<count).map { _ in Float.random(in: range, using: &random) }
    }

    @Test("softmax: float64 reference, masked entries exactly zero, every build the same bits")
    func softmax() {
        // 301 entries: vector bodies and a scalar tail; every seventh masked.
        var scores = Self.randomValues(301, in: -30...30)
        for index in stride(from: 3, to: scores.count, by: 7) { scores[index] = -.infinity }
        let maximum = Double(scores.max()!)
        let exps = scores.map { $0 == -.infinity ? 0 : Foundation.exp(Double($0) - maximum) }
        let total = exps.reduce(0, +)
        var first: [Float]?
        for kernels in Self.kernelSets {
            var values = scores
            values.withUnsafeMutableBufferPointer { kernels.softmax($0.baseAddress!, $0.count) }
            for (index, value) in values.enumerated() {
                let reference = exps[index] / total
                if scores[index] == -.infinity { #expect(value == 0) }
                #expect(abs(Double(value) - reference) <= 1e-6 * max(reference, 1e-30) + 1e-12, "\(kernels.name) [\(index)]: \(value) vs \(reference)")
            }
            if let first { #expect(values.map(\.bitPattern) == first.map(\.bitPattern), "\(kernels.name) differs from generic") }
            first = first ?? values
            var masked = [Float](repeating: -.infinity, count: 19)
            masked.withUnsafeMutableBufferPointer { kernels.softmax($0.baseAddress!, $0.count) }
            #expect(masked.allSatisfy { $0 == 0 }, "an all-masked row gives zeros")
        }
    }

    @Test("SiLU and tanh-GELU gates: float64 reference, every build the same bits")
    func gates() {
        let gate = Self.randomValues(1_000, in: -12...12), up = Self.randomValues(1_000, in: -3...3)
        var firstSilu: [Float]?, firstGelu: [Float]?
        for kernels in Self.kernelSets {
            var silu = gate, gelu = gate
            up.withUnsafeBufferPointer { u in
                silu.withUnsafeMutableBufferPointer { kernels.siluGate($0.baseAddress!, u.baseAddress!, $0.count) }
                gelu.withUnsafeMutableBufferPointer { kernels.geluTanhGate($0.baseAddress!, u.baseAddress!, $0.count) }
            }
            for index in gate.indices {
                let g = Double(gate[index]), u = Double(up[index])
                let siluReference = g / (1 + Foundation.exp(-g)) * u
                let geluReference = 0.5 * g * (1 + tanh(0.797_884_560_8 * (g + 0.044715 * g * g * g))) * u
                #expect(abs(Double(silu[index]) - siluReference) <= 1e-5 * max(abs(siluReference), 1), "\(kernels.name) silu [\(index)]")
                #expect(abs(Double(gelu[index]) - geluReference) <= 1e-5 * max(abs(geluReference), 1), "\(kernels.name) gelu [\(index)]")
            }
            if let firstSilu, let firstGelu {
                #expect(silu.map(\.bitPattern) == firstSilu.map(\.bitPattern), "\(kernels.name) silu differs from generic")
                #expect(gelu.map(\.bitPattern) == firstGelu.map(\.bitPattern), "\(kernels.name) gelu differs from generic")
            }
            firstSilu = firstSilu ?? silu
            firstGelu = firstGelu ?? gelu
        }
    }
}
