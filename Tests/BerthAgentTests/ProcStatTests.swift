import Foundation
import Testing

@testable import BerthAgent

@Suite("/proc liveness with the start time")
struct ProcStatTests {
    @Test("field 22 is found even when the command name has spaces and parentheses")
    func parse() throws {
        let line =
            "4242 (evil) name (x)) S 1 4242 4242 0 -1 4194560 178 0 0 0 0 0 0 0 20 0 1 0 987654 1234567 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
        let stat = try #require(ProcStat(parsing: line))
        #expect(stat.state == "S")
        #expect(stat.startTime == 987_654)
        #expect(ProcStat(parsing: "4242 (short) S 1 2 3") == nil)
        #expect(ProcStat(parsing: "garbage") == nil)
    }

    @Test("this process is alive; the same pid with another start time is not (a reused pid)")
    func reusedPid() throws {
        let me = try #require(ProcessIdentity.current(pid: getpid()))
        #expect(me.isAlive())
        #expect(!ProcessIdentity(pid: me.pid, startTime: me.startTime + 1).isAlive())
        #expect(!ProcessIdentity(pid: Int32.max - 1, startTime: 1).isAlive())
    }

    @Test("a fake /proc tree: a zombie is not alive")
    func zombie() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        try FileManager.default.createDirectory(atPath: temporary.path + "/77", withIntermediateDirectories: true)
        let fields = (0..<40).map { $0 == 19 ? "555" : "0" }
        try ("77 (z) Z " + fields.dropFirst().joined(separator: " ")).write(
            toFile: temporary.path + "/77/stat", atomically: true, encoding: .utf8)
        #expect(ProcStat.read(pid: 77, proc: temporary.path)?.startTime == 555)
        #expect(!ProcessIdentity(pid: 77, startTime: 555).isAlive(proc: temporary.path))
    }
}
