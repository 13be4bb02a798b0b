import Testing
import TributaryKernels

/// Choosing OpenBLAS kernels from the CPU's real features.
@Suite("OpenBLAS core selection")
struct OpenBLASRuntimeTests {
    static let avx512 = CPUFeatures(flags: ["avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"])
    static let avx2 = CPUFeatures(flags: ["avx", "avx2", "fma"])
    static let sse = CPUFeatures(flags: ["sse2", "sse4_2"])

    @Test("recommendation follows the features")
    func recommendation() {
        #expect(OpenBLASRuntime.recommendedCoreType(for: Self.avx512) == "SkylakeX")
        #expect(OpenBLASRuntime.recommendedCoreType(for: Self.avx2) == "Haswell")
        #expect(OpenBLASRuntime.recommendedCoreType(for: Self.sse) == nil)
    }

    @Test("a misdetected Prescott core is replaced")
    func prescott() {
        #expect(OpenBLASRuntime.desiredCoreType(environment: [:], current: "Prescott", features: Self.avx512) == "SkylakeX")
        #expect(OpenBLASRuntime.desiredCoreType(environment: [:], current: "Prescott", features: Self.avx2) == "Haswell")
        #expect(OpenBLASRuntime.desiredCoreType(environment: [:], current: "SkylakeX", features: Self.avx512) == nil)
    }

    @Test("AVX-512 kernels are never chosen without AVX-512")
    func neverUnsupported() {
        #expect(OpenBLASRuntime.desiredCoreType(environment: ["OPENBLAS_CORETYPE": "SkylakeX"], current: "SkylakeX", features: Self.avx2) == "Haswell")
        #expect(OpenBLASRuntime.desiredCoreType(environment: ["TRIBUTARY_OPENBLAS_CORETYPE": "SkylakeX"], current: "Haswell", features: Self.avx2) == nil)
        #expect(OpenBLASRuntime.desiredCoreType(environment: [:], current: "Prescott", features: Self.sse) == nil)
    }

    @Test("a weaker inherited OPENBLAS_CORETYPE is upgraded; an explicit Tributary choice wins")
    func environmentChoices() {
        #expect(OpenBLASRuntime.desiredCoreType(environment: ["OPENBLAS_CORETYPE": "Haswell"], current: "Haswell", features: Self.avx512) == "SkylakeX")
        #expect(OpenBLASRuntime.desiredCoreType(environment: ["TRIBUTARY_OPENBLAS_CORETYPE": "Haswell"], current: "SkylakeX", features: Self.avx512) == "Haswell")
        #expect(OpenBLASRuntime.desiredCoreType(environment: ["TRIBUTARY_OPENBLAS_CORETYPE": "Haswell"], current: "Haswell", features: Self.avx512) == nil)
    }

    @Test("this test process runs the recommended kernels (Scripts/test sets them)")
    func runningCore() {
        guard let recommended = OpenBLASRuntime.recommendedCoreType(for: .current) else { return }
        #expect(OpenBLASRuntime.coreName == recommended)
    }

    @Test("cpuinfo parsing")
    func parse() {
        let features = CPUFeatures.parse(cpuinfo: "processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu avx avx2 fma\n\nprocessor\t: 1\nflags\t: avx512f\n")
        #expect(features.modelName == "Test CPU")
        #expect(features.hasAVX2FMA)
        #expect(!features.flags.contains("avx512f"))
    }
}
