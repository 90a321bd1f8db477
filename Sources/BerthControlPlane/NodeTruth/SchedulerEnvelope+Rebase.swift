extension SchedulerEnvelope {
    /// `envelopes` moved in time together so that the newest `observed_at` becomes `newestAtMs`,
    /// keeping every age relative to the others. Fixtures are written with fixed timestamps; this
    /// replays them "now" (the demo, tests) without a clock inside the module.
    public static func rebased(_ envelopes: [SchedulerEnvelope], newestObservedAtMs newestAtMs: Int64)
        -> [SchedulerEnvelope]
    {
        guard let newest = envelopes.map(\.observedAtMs).max() else { return [] }
        let shiftMs = newestAtMs &- newest
        return envelopes.map { envelope in
            var shifted = envelope
            shifted.observedAtMs = envelope.observedAtMs &+ shiftMs
            return shifted
        }
    }
}
