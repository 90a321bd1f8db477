import BerthControlPlane
import Testing

/// Timestamps on the wire: parsed exactly, rendered identically on every server.
@Suite struct RFC3339Tests {
    @Test("known instants")
    func knownInstants() {
        #expect(RFC3339.milliseconds(from: "1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.milliseconds(from: "2025-06-02T09:30:00Z") == 1_748_856_600_000)
        #expect(RFC3339.milliseconds(from: "2025-06-02T09:30:00.25Z") == 1_748_856_600_250)
        #expect(RFC3339.milliseconds(from: "2025-06-02T09:30:00.123999Z") == 1_748_856_600_123)
        #expect(RFC3339.milliseconds(from: "2025-06-02t11:30:00+02:00") == 1_748_856_600_000)
        #expect(RFC3339.milliseconds(from: "2025-06-02T04:00:00-05:30z") == nil)
        #expect(RFC3339.milliseconds(from: "2025-06-02T04:00:00-05:30") == 1_748_856_600_000)
        #expect(RFC3339.milliseconds(from: "1969-12-31T23:59:59.999Z") == -1)
        #expect(RFC3339.milliseconds(from: "2000-02-29T00:00:00Z") == 951_782_400_000)
        // A leap second is the instant after :59.999.
        #expect(
            RFC3339.milliseconds(from: "2016-12-31T23:59:60Z") == RFC3339.milliseconds(from: "2017-01-01T00:00:00Z"))
    }

    @Test("malformed or impossible timestamps are refused")
    func refused() {
        for bad in [
            "", "2025-06-02", "2025-06-02T09:30:00", "2025-06-02 09:30:00Z", "2025-13-01T00:00:00Z",
            "2025-00-01T00:00:00Z", "2025-04-31T00:00:00Z", "1900-02-29T00:00:00Z", "2025-06-02T24:00:00Z",
            "2025-06-02T09:60:00Z", "2025-06-02T09:30:61Z", "2025-06-02T09:30:00.Z", "2025-06-02T09:30:00+2:00",
            "2025-06-02T09:30:00+24:00", "25-06-02T09:30:00Z", "2025-06-02T09:30:00Zjunk", "２０２５-06-02T09:30:00Z",
        ] {
            #expect(RFC3339.milliseconds(from: bad) == nil, "\(bad)")
        }
    }

    @Test("rendering is UTC, with milliseconds only when there are some, and parses back")
    func rendering() {
        #expect(RFC3339.string(fromMilliseconds: 0) == "1970-01-01T00:00:00Z")
        #expect(RFC3339.string(fromMilliseconds: 1_748_856_600_250) == "2025-06-02T09:30:00.250Z")
        #expect(RFC3339.string(fromMilliseconds: -1) == "1969-12-31T23:59:59.999Z")
        for ms: Int64 in [0, 1, -1, 951_782_400_000, 1_748_856_600_007, 253_402_300_799_999, -62_167_219_200_000] {
            #expect(RFC3339.milliseconds(from: RFC3339.string(fromMilliseconds: ms)) == ms, "\(ms)")
        }
    }

    @Test("rendering any Int64 does not trap; years beyond 9999 do not parse back")
    func extremes() {
        for ms in [Int64.max, .min, 253_402_300_800_000, -62_167_219_200_001] {
            #expect(RFC3339.milliseconds(from: RFC3339.string(fromMilliseconds: ms)) == nil)
        }
    }
}
