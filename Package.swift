// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Tributary",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tributary", targets: ["tributary"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            path: "Sources/COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(
            name: "TributaryLedger",
            dependencies: ["CSQLite", .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        .target(
            // Integer dot products for AVX-512 CPUs, in C: Swift cannot emit the 16-bit multiply-add they rest on.
            name: "CTributaryIntegerKernels"
        ),
        .target(
            name: "TributaryKernels",
            dependencies: ["COpenBLAS", "CTributaryIntegerKernels"]
        ),
        .target(
            name: "TributaryKernelsAVX2",
            dependencies: ["TributaryKernels"],
            // The quantized kernels instantiated for AVX2 + FMA; used only after a CPU feature check.
            swiftSettings: [.unsafeFlags(["-target-cpu", "haswell"])]
        ),
        .target(
            name: "TributaryKernelsAVX512",
            dependencies: ["TributaryKernels"],
            // The same kernels for AVX-512 (16-lane vectors in one register); used only after a CPU feature check.
            swiftSettings: [.unsafeFlags(["-target-cpu", "skylake-avx512"])]
        ),
        .target(
            name: "TributaryFormats",
            dependencies: ["TributaryKernels"]
        ),
        .target(
            name: "TributaryTokenizers",
            dependencies: ["TributaryFormats"]
        ),
        .target(
            name: "TributaryModel",
            dependencies: ["TributaryKernels", "TributaryKernelsAVX2", "TributaryKernelsAVX512", "TributaryFormats", "TributaryTokenizers"]
        ),
        .target(
            name: "TributaryAdapters",
            dependencies: ["TributaryModel", "TributaryFormats", "TributaryKernels", "TributaryLedger", "COpenBLAS",
                           .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "TributaryServer",
            dependencies: ["TributaryModel", "TributaryAdapters", "TributaryLedger", "TributaryTokenizers",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "HTTPTypes", package: "swift-http-types"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "Crypto", package: "swift-crypto")]
        ),
        .executableTarget(
            name: "tributary",
            dependencies: [
                "TributaryModel", "TributaryLedger", "TributaryAdapters", "TributaryServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "TributaryTests",
            dependencies: [
                "TributaryKernels", "TributaryKernelsAVX2", "TributaryKernelsAVX512", "TributaryFormats", "TributaryTokenizers", "TributaryModel",
                "TributaryLedger", "TributaryAdapters", "TributaryServer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
