import NIOConcurrencyHelpers

/// Faults a multi-process test injects into a running node. Off unless the process starts
/// with `BERTH_TEST_HOOKS=1`, which also registers `POST /debug/fsync-delay`; never set it in
/// production.
final class TestHooks: Sendable {
    /// Whether the hooks (and their HTTP route) exist in this process.
    let enabled: Bool
    private let fsyncDelay = NIOLockedValueBox<Int>(0)

    init(enabled: Bool = false) {
        self.enabled = enabled
    }

    /// Reads `BERTH_TEST_HOOKS` from the environment.
    static func fromEnvironment(_ environment: [String: String]) -> TestHooks {
        TestHooks(enabled: environment["BERTH_TEST_HOOKS"] == "1")
    }

    /// Extra milliseconds every log write waits before its fsync (a slow disk).
    var fsyncDelayMilliseconds: Int {
        get { enabled ? fsyncDelay.withLockedValue { $0 } : 0 }
        set { fsyncDelay.withLockedValue { $0 = newValue } }
    }
}
