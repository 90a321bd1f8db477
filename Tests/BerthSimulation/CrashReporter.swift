#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Names the seeds that were running when the process died.
///
/// A `precondition` failing inside the core traps, and a trap cannot be caught: the test
/// process dies and XCTest never prints which of the thousand seeds did it. So each worker
/// writes a ready-made line naming its seed into a fixed slot before running it, and a signal
/// handler for the trap signals writes those lines to stderr, then hands the signal on to
/// whatever handler was there before (the Swift runtime's backtracer, or the default).
enum CrashReporter {
    /// At most this many workers are tracked.
    static let slotCount = 64
    private static let slotBytes = 128
    private static let signals: [Int32] = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE]

    nonisolated(unsafe) private static let lines: UnsafeMutablePointer<UInt8> = {
        let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: slotCount * slotBytes)
        pointer.initialize(repeating: 0, count: slotCount * slotBytes)
        return pointer
    }()
    nonisolated(unsafe) private static let lengths: UnsafeMutablePointer<Int> = {
        let pointer = UnsafeMutablePointer<Int>.allocate(capacity: slotCount)
        pointer.initialize(repeating: 0, count: slotCount)
        return pointer
    }()
    #if canImport(Glibc) || canImport(Darwin)
        nonisolated(unsafe) private static let previous: UnsafeMutablePointer<sigaction> = {
            let pointer = UnsafeMutablePointer<sigaction>.allocate(capacity: 64)
            pointer.initialize(repeating: sigaction(), count: 64)
            return pointer
        }()
    #endif

    private static let installed: Bool = {
        _ = lines
        _ = lengths
        #if canImport(Glibc) || canImport(Darwin)
            _ = previous
            for signal in signals {
                var action = sigaction()
                #if canImport(Glibc)
                    action.__sigaction_handler.sa_handler = handleSignal
                #else
                    action.__sigaction_u.__sa_handler = handleSignal
                #endif
                sigemptyset(&action.sa_mask)
                action.sa_flags = 0
                sigaction(signal, &action, previous + Int(signal))
            }
        #endif
        return true
    }()

    /// Installs the handlers (once per process).
    static func install() {
        _ = installed
    }

    /// Worker `slot` is about to run `seed`.
    static func enter(slot: Int, seed: UInt64, nodeCount: Int) {
        guard slot < slotCount else { return }
        let line =
            "\nberth simulation: died while running seed \(seed) (\(nodeCount) nodes); "
            + "replay with BERTH_SIM_SEED=\(seed)\n"
        let text = Array(line.utf8.prefix(slotBytes))
        let base = lines + slot * slotBytes
        for (offset, byte) in text.enumerated() { base[offset] = byte }
        lengths[slot] = text.count
    }

    /// Worker `slot` finished its seed.
    static func leave(slot: Int) {
        guard slot < slotCount else { return }
        lengths[slot] = 0
    }

    #if canImport(Glibc) || canImport(Darwin)
        /// Async-signal-safe: only `write` and `sigaction`.
        private static let handleSignal: @convention(c) (Int32) -> Void = { signal in
            for slot in 0..<CrashReporter.slotCount where CrashReporter.lengths[slot] > 0 {
                _ = write(2, CrashReporter.lines + slot * CrashReporter.slotBytes, CrashReporter.lengths[slot])
            }
            // Put the previous handler back and return: the faulting instruction runs again and
            // this time the previous handler (or the default action) takes it.
            sigaction(signal, CrashReporter.previous + Int(signal), nil)
        }
    #endif
}
