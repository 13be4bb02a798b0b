import COpenBLAS
import Foundation

/// Linear algebra on low-rank products `B A` with LAPACKE (in double precision): singular
/// values of an adapter's delta, and the best rank-R factorisation of a weighted sum of deltas.
public enum LowRank {
    /// An error from LAPACK.
    public struct Failure: Error, CustomStringConvertible { public let description: String }

    /// Thin QR of a row-major `rows × columns` matrix: `Q` is `rows × k`, `R` is `k × columns`, k = min.
    static func qr(_ matrix: [Double], rows: Int, columns: Int) throws -> (q: [Double], r: [Double], k: Int) {
        var a = matrix
        let k = min(rows, columns)
        var tau = [Double](repeating: 0, count: k)
        var status = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, Int32(rows), Int32(columns), &a, Int32(columns), &tau)
        guard status == 0 else { throw Failure(description: "dgeqrf failed (\(status))") }
        var r = [Double](repeating: 0, count: k * columns)
        for i in 0..<k { for j in i..<columns { r[i * columns + j] = a[i * columns + j] } }
        // Q: the first k columns.
        var q = [Double](repeating: 0, count: rows * k)
        for i in 0..<rows { for j in 0..<k { q[i * k + j] = a[i * columns + j] } }
        status = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, Int32(rows), Int32(k), Int32(k), &q, Int32(k), &tau)
        guard status == 0 else { throw Failure(description: "dorgqr failed (\(status))") }
        return (q, r, k)
    }

    /// SVD of a row-major `rows × columns` matrix: `U` (rows × m), `S` (m), `Vᵀ` (m × columns), m = min.
    static func svd(_ matrix: [Double], rows: Int, columns: Int) throws -> (u: [Double], s: [Double], vt: [Double]) {
        var a = matrix
        let m = min(rows, columns)
        var s = [Double](repeating: 0, count: m)
        var u = [Double](repeating: 0, count: rows * m)
        var vt = [Double](repeating: 0, count: m * columns)
        var superb = [Double](repeating: 0, count: max(m - 1, 1))
        let status = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "S")), Int8(UInt8(ascii: "S")), Int32(rows), Int32(columns),
                                    &a, Int32(columns), &s, &u, Int32(m), &vt, Int32(columns), &superb)
        guard status == 0 else { throw Failure(description: "dgesvd failed (\(status))") }
        return (u, s, vt)
    }

    /// `C = A B` for row-major doubles.
    static func multiply(_ a: [Double], _ b: [Double], m: Int, k: Int, n: Int, transposeB: Bool = false) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    1, a, Int32(k), b, Int32(transposeB ? k : n), 0, &c, Int32(n))
        return c
    }

    /// One term `weight · B A` of a sum (`A` is `rank × inputs`, `B` is `outputs × rank`).
    public struct Term {
        public let a: [Float]
        public let b: [Float]
        public let rank: Int
        public let weight: Double
        public init(a: [Float], b: [Float], rank: Int, weight: Double) {
            self.a = a
            self.b = b
            self.rank = rank
            self.weight = weight
        }
    }

    /// The result of factorising a sum of low-rank terms.
    public struct Factorisation {
        /// The full singular values of the sum (largest first).
        public let singularValues: [Double]
        /// Rank kept.
        public let rank: Int
        /// New `A` (`rank × inputs`) and `B` (`outputs × rank`) with `B A ≈ Σ weight·B_i A_i`.
        public let a: [Float]
        public let b: [Float]
        /// ‖sum − B A‖_F / ‖sum‖_F.
        public let relativeError: Double
    }

    /// Factorises `Σ weight_i · B_i A_i` exactly through QR of the stacked factors and an SVD of
    /// the small core, then keeps the top `targetRank` singular directions.
    public static func factorise(_ terms: [Term], inputs: Int, outputs: Int, targetRank: Int) throws -> Factorisation {
        let stacked = terms.reduce(0) { $0 + $1.rank }
        // B' = [w1 B1 | w2 B2 | ...] (outputs × K), A'ᵀ = [A1; A2; ...]ᵀ (inputs × K).
        var bStack = [Double](repeating: 0, count: outputs * stacked)
        var aTransposed = [Double](repeating: 0, count: inputs * stacked)
        var offset = 0
        for term in terms {
            for row in 0..<outputs { for j in 0..<term.rank { bStack[row * stacked + offset + j] = term.weight * Double(term.b[row * term.rank + j]) } }
            for j in 0..<term.rank { for column in 0..<inputs { aTransposed[column * stacked + offset + j] = Double(term.a[j * inputs + column]) } }
            offset += term.rank
        }
        let (qB, rB, kB) = try qr(bStack, rows: outputs, columns: stacked)
        let (qA, rA, kA) = try qr(aTransposed, rows: inputs, columns: stacked)
        // core = R_B R_Aᵀ  (kB × kA)
        let core = multiply(rB, rA, m: kB, k: stacked, n: kA, transposeB: true)
        let (u, s, vt) = try svd(core, rows: kB, columns: kA)
        let m = min(kB, kA)
        let keep = min(targetRank, m)
        // B = Q_B U_keep Σ_keep (outputs × keep); A = V_keepᵀ Q_Aᵀ (keep × inputs)
        var uScaled = [Double](repeating: 0, count: kB * keep)
        for i in 0..<kB { for j in 0..<keep { uScaled[i * keep + j] = u[i * m + j] * s[j] } }
        let newB = multiply(qB, uScaled, m: outputs, k: kB, n: keep)
        var vtKeep = [Double](repeating: 0, count: keep * kA)
        for i in 0..<keep { for j in 0..<kA { vtKeep[i * kA + j] = vt[i * kA + j] } }
        let newA = multiply(vtKeep, qA, m: keep, k: kA, n: inputs, transposeB: true)
        let total = s.reduce(0) { $0 + $1 * $1 }
        let dropped = s.dropFirst(keep).reduce(0) { $0 + $1 * $1 }
        return Factorisation(singularValues: s, rank: keep, a: newA.map(Float.init), b: newB.map(Float.init),
                             relativeError: total > 0 ? (dropped / total).squareRoot() : 0)
    }

    /// Singular values of `scale · B A`.
    public static func singularValues(a: [Float], b: [Float], rank: Int, inputs: Int, outputs: Int, scale: Double) throws -> [Double] {
        try factorise([Term(a: a, b: b, rank: rank, weight: scale)], inputs: inputs, outputs: outputs, targetRank: rank).singularValues
    }

    /// The entropy effective rank (Roy & Vetterli): exp of the entropy of the normalised singular values.
    public static func effectiveRank(_ singularValues: [Double]) -> Double {
        let total = singularValues.reduce(0, +)
        guard total > 0 else { return 0 }
        let entropy = singularValues.reduce(0.0) { sum, value in
            let p = value / total
            return p > 0 ? sum - p * log(p) : sum
        }
        return exp(entropy)
    }
}
