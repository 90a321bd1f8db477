import BerthRaft

/// Draws the simulator makes from its seeded generator. Everything random in a run comes from
/// a `SplitMix64` derived from the seed, never from the system generator, so a seed replays.
extension SplitMix64 {
    /// An integer drawn uniformly from `range` (the modulo bias is negligible for the small
    /// ranges used here).
    mutating func int(in range: ClosedRange<Int>) -> Int {
        let width = UInt64(range.upperBound - range.lowerBound) + 1
        return range.lowerBound + Int(next() % width)
    }

    /// A time span drawn uniformly from `range`, in time units.
    mutating func time(in range: ClosedRange<UInt64>) -> UInt64 {
        range.lowerBound + next() % (range.upperBound - range.lowerBound + 1)
    }

    /// True with `probability` (0 ... 1).
    mutating func chance(_ probability: Double) -> Bool {
        guard probability > 0 else { return false }
        return Double(next() >> 11) * 0x1p-53 < probability
    }

    /// One element of a non-empty array.
    mutating func element<T>(of array: [T]) -> T {
        precondition(!array.isEmpty, "nothing to pick from")
        return array[Int(next() % UInt64(array.count))]
    }

    /// An independent generator for one part of the run (network, faults, clients), so that
    /// changing how often one part draws does not reshuffle the others.
    mutating func split() -> SplitMix64 {
        SplitMix64(seed: next())
    }
}

/// A 64-bit mixing step (SplitMix64's finalizer) for digests that must not depend on
/// `Hasher`, whose seed changes from process to process.
@inline(__always)
func mixDigest(_ digest: UInt64, _ value: UInt64) -> UInt64 {
    var z = digest &+ 0x9E37_79B9_7F4A_7C15 &+ value
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
