/// A compile target for the `@inlinable` kernels, named in their generic signatures.
///
/// The kernels are compiled three times: in this module for any x86-64, in TributaryKernelsAVX2
/// for AVX2 + FMA and in TributaryKernelsAVX512 for AVX-512. A specialization the optimizer does
/// not inline is emitted under a mangled name that every module would share, and the linker keeps
/// only one copy, so a fast build could end up running the portable code. Each module passes its
/// own target type, which makes every specialization's name, and so its copy, its own.
public protocol KernelTarget {
    /// Whether the target has registers for eight input rows' 16-lane accumulators at once
    /// (AVX-512's 32 vector registers); otherwise the kernels take four rows at a time.
    static var groupsOfEight: Bool { get }
}

/// The portable build (this module).
public enum PortableTarget: KernelTarget {
    public static var groupsOfEight: Bool { false }
}
