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

    /// Rotates `heads` consecutive heads of `headDimension` floats each, in place, for `position`.
    public func apply(to vector: UnsafeMutablePointer<Float>, heads: Int, headDimension: Int, position: Int) {
        let half = dimensions / 2
        inverseFrequencies.withUnsafeBufferPointer { frequencies in
            for i in 0..<half {
                let angle = Double(position) * frequencies[i]
                let cosine = Float(cos(angle)), sine = Float(sin(angle))
                for h in 0..<heads {
                    let head = vector + h * headDimension
                    let (a, b) = style == .interleaved ? (2 * i, 2 * i + 1) : (i, i + half)
                    let x0 = head[a], x1 = head[b]
                    head[a] = x0 * cosine - x1 * sine
                    head[b] = x0 * sine + x1 * cosine
                }
            }
        }
    }
}
