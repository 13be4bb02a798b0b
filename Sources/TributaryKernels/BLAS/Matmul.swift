import COpenBLAS

/// Row-major single-precision matrix products through OpenBLAS.
public enum BLAS {
    /// `C[m×n] = alpha · A[m×k] · W[n×k]ᵀ + beta · C`: a batch of rows times a weight stored `[out, in]`.
    ///
    /// - Parameters:
    ///   - lda, ldw, ldc: row strides (elements) of `A`, `W` and `C`; default to dense rows.
    @inlinable
    public static func matmulTransposedB(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int? = nil,
        w: UnsafePointer<Float>, ldw: Int? = nil,
        c: UnsafeMutablePointer<Float>, ldc: Int? = nil,
        alpha: Float = 1, beta: Float = 0
    ) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans,
            Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda ?? k), w, Int32(ldw ?? k),
            beta, c, Int32(ldc ?? n))
    }

    /// `C[m×n] = alpha · A[m×k] · B[k×n] + beta · C`, all row-major.
    @inlinable
    public static func matmul(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int? = nil,
        b: UnsafePointer<Float>, ldb: Int? = nil,
        c: UnsafeMutablePointer<Float>, ldc: Int? = nil,
        alpha: Float = 1, beta: Float = 0
    ) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans,
            Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda ?? k), b, Int32(ldb ?? n),
            beta, c, Int32(ldc ?? n))
    }
}
