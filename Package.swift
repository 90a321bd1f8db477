// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Berth",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "berth", targets: ["berth"]),
        .library(name: "BerthRaft", targets: ["BerthRaft"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // The pure Raft core: standard library only, driven by tick()/step(), output through Ready.
        .target(name: "BerthRaft"),
        // The pure placement domain: node truth, intents, explainable evaluation, launch records; no I/O, no clock.
        .target(name: "BerthControlPlane"),
        // The peer protocol's frames and messages, and CRC32C: pure, NIOCore's ByteBuffer only.
        .target(
            name: "BerthWire",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        // Durable Raft log (WAL + snapshots) and the replicated state machine in SQLite.
        .target(
            name: "BerthStorage",
            dependencies: [
                "BerthRaft", "BerthWire", "BerthControlPlane", .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // A control-plane node: the Raft loop, the NIO peer transport, the Hummingbird HTTP API.
        .target(
            name: "BerthServer",
            dependencies: [
                "BerthRaft", "BerthWire", "BerthStorage", "BerthControlPlane",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The seeded whole-cluster simulator and its invariant checkers. It lives under Tests/
        // because it exists to test the core, but it is a library so `berth demo` can run it too.
        .target(
            name: "BerthSimulation",
            dependencies: ["BerthRaft"],
            path: "Tests/BerthSimulation"
        ),
        // The few host calls Swift cannot make safely (variadic ioctl, work between fork and exec).
        .target(name: "CBerthHost"),
        // The node agent: host fingerprint and KVM probe, runtime backends, local state, and the
        // loop that reports to and takes actions from the control plane.
        .target(
            name: "BerthAgent",
            dependencies: [
                "BerthControlPlane", "CBerthHost",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "berth",
            dependencies: [
                "BerthAgent",
                "BerthRaft",
                "BerthSimulation",
                "BerthServer",
                "BerthStorage",
                "BerthControlPlane",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(name: "BerthRaftTests", dependencies: ["BerthRaft"]),
        .testTarget(name: "BerthControlPlaneTests", dependencies: ["BerthControlPlane"]),
        .testTarget(name: "BerthAgentTests", dependencies: ["BerthAgent", "BerthControlPlane", "CBerthHost"]),
        .testTarget(
            name: "BerthWireTests",
            dependencies: [
                "BerthWire", "BerthRaft", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "BerthStorageTests", dependencies: ["BerthStorage", "BerthRaft", "BerthControlPlane"]),
        .testTarget(name: "BerthSimulationTests", dependencies: ["BerthSimulation", "BerthRaft"]),
        .testTarget(name: "BerthServerTests", dependencies: ["BerthServer", "BerthRaft", "BerthWire", "BerthControlPlane", .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"), .product(name: "Yams", package: "Yams"), .product(name: "Logging", package: "swift-log"), .product(name: "NIOSSL", package: "swift-nio-ssl")]),
    ],
    swiftLanguageModes: [.v6]
)
