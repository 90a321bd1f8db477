/// Delays between retries while the control plane cannot be reached: doubling from `initial`
/// up to `maximum`, so a cluster that is down is not asked (and the log not written) several
/// times a second by every agent, and back to `initial` after a success.
struct Backoff: Sendable {
    let initial: Duration
    let maximum: Duration
    private(set) var failures = 0

    init(initial: Duration = .milliseconds(500), maximum: Duration = .seconds(5)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// Counts a failure; the delay before the next try.
    mutating func failed() -> Duration {
        failures += 1
        var delay = initial
        for _ in 1..<min(failures, 16) where delay < maximum { delay = delay * 2 }
        return min(delay, maximum)
    }

    mutating func succeeded() {
        failures = 0
    }

    /// Whether a failure is the first of a run: worth a warning, where repeats are not.
    var isFirstFailure: Bool { failures == 1 }
}
