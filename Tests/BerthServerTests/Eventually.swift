import Foundation

/// A bounded wait that ran out: what was awaited, for how long, and the last thing seen.
struct TimedOut: Error, CustomStringConvertible {
    let what: String
    let seconds: Double
    let lastSeen: String

    var description: String {
        "timed out after \(seconds) s waiting for \(what)" + (lastSeen.isEmpty ? "" : "; last seen: \(lastSeen)")
    }
}

/// Polls `probe` every `interval` until it returns a value, for at most `seconds`. A probe that
/// throws counts as "not yet" (a node still starting, a connection refused); the last error it
/// threw (an `Observation`, say) is quoted in the timeout error.
func eventually<T>(
    _ what: String, within seconds: Double, every interval: Duration = .milliseconds(25),
    _ probe: () async throws -> T?
) async throws -> T {
    let deadline = Date().addingTimeInterval(seconds)
    var lastSeen = ""
    while true {
        do {
            if let value = try await probe() { return value }
        } catch {
            lastSeen = "\(error)"
        }
        guard Date() < deadline else { throw TimedOut(what: what, seconds: seconds, lastSeen: lastSeen) }
        try await Task.sleep(for: interval)
    }
}

/// Runs blocking work (waiting for a child process to exit) off Swift's cooperative pool, which
/// has only as many threads as cores.
func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: work()) }
    }
}

/// Seconds since `start`.
func secondsSince(_ start: Date) -> Double {
    Date().timeIntervalSince(start)
}
