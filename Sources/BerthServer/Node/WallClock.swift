import Foundation

/// This node's wall clock in milliseconds since the epoch: what the leader stamps into commands
/// (apply never reads a clock) and what reads evaluate placement at.
enum WallClock {
    static func nowMilliseconds() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1000)
    }
}
