import Foundation

/// How a rotary position embedding pairs the dimensions of a head.
public enum RoPEStyle: String, Sendable, Codable {
    /// Adjacent pairs `(2i, 2i+1)`: llama-architecture GGUF files, whose Q/K rows were permuted.
    case interleaved
    /// The two halves `(i, i + d/2)`: NeoX, Hugging Face llama, qwen2, gemma3.
    case halves
}

/// Precomputed inverse frequencies for rotary position embeddings.
public struct RotaryEmbedding: Sendable {
    /// Dimensions rotated per head.
    public let dimensions: Int
    /// The pairing of dimensions.
    public let style: RoPEStyle
    /// `base^(-2i/d)` for each pair.
    public let inverseFrequencies: [Double]

    /// Creates the table for `dimensions` rotated dimensions and frequency `base`.
    public init(dimensions: Int, base: Float, style: RoPEStyle) {
        self.dimensions = dimensions
        self.style = style
        inverseFrequencies = (0..<(dimensions / 2)).map { i in
            pow(Double(base), -2.0 * Double(i) / Double(dimensions))
        }
    }

    /// Writes `cos` and `sin` of every pair's angle for each position: `rows × dimensions/2` each.
    public func fillTable(
        positions: UnsafePointer<Int32>, rows: Int,
        cosines: UnsafeMutablePointer<Float>, sines: UnsafeMutablePointer<Float>
    ) {
        let half = dimensions / 2
        inverseFrequencies.withUnsafeBufferPointer { frequencies in
            for row in 0..<rows {
                let position = Double(positions[row])
                for i in 0..<half {
                    let angle = position * frequencies[i]
                    cosines[row * half + i] = Float(cos(angle))
                    sines[row * half + i] = Float(sin(angle))
                }
            }
        }
    }

    /// Rotates `heads` consecutive heads of `headDimension` floats each, in place, with one row
    /// of a table from ``fillTable(positions:rows:cosines:sines:)``.
    @inlinable
    public func apply(
        to vector: UnsafeMutablePointer<Float>, heads: Int, headDimension: Int,
        cosines: UnsafePointer<Float>, sines: UnsafePointer<Float>
    ) {
        let half = dimensions / 2
        for h in 0..<heads {
            let head = vector + h * headDimension
            if style == .interleaved {
                for i in 0..<half {
                    let x0 = head[2 * i], x1 = head[2 * i + 1]
                    head[2 * i] = x0 * cosines[i] - x1 * sines[i]
                    head[2 * i + 1] = x0 * sines[i] + x1 * cosines[i]
                }
            } else {
                for i in 0..<half {
                    let x0 = head[i], x1 = head[i + half]
                    head[i] = x0 * cosines[i] - x1 * sines[i]
                    head[i + half] = x0 * sines[i] + x1 * cosines[i]
                }
            }
        }
    }
}
