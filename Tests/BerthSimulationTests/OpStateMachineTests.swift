import BerthRaft
import XCTest

@testable import BerthSimulation

/// The simulated state machine: what the checkers compare, and what snapshots carry.
final class OpStateMachineTests: XCTestCase {
    private let configuration = Configuration(voters: [1, 2, 3])

    private func command(_ index: LogIndex, term: Term = 1, op: UInt64) -> Entry {
        Entry(term: term, index: index, payload: .command(ClientOp.encode(op)))
    }

    func testOperationIDsRoundTripThroughCommandBytes() {
        for op: UInt64 in [0, 1, 255, 256, 0xDEAD_BEEF, .max] {
            XCTAssertEqual(ClientOp.decode(ClientOp.encode(op)), op)
        }
        XCTAssertNil(ClientOp.decode([1, 2, 3]))
    }

    func testRetriedOperationAppliesOnce() {
        var machine = OpStateMachine(configuration: configuration)
        XCTAssertEqual(machine.apply(command(1, op: 7)), .applied(op: 7))
        XCTAssertEqual(machine.apply(Entry(term: 2, index: 2, payload: .empty)), .noOp)
        XCTAssertEqual(machine.apply(command(3, term: 2, op: 7)), .duplicate(op: 7))
        XCTAssertEqual(machine.ops, [7])
        XCTAssertEqual(machine.appliedIndex, 3)
        XCTAssertEqual(machine.duplicatesSkipped, 1)
    }

    func testSnapshotDataRestoresTheSameState() throws {
        var machine = OpStateMachine(configuration: configuration)
        _ = machine.apply(command(1, op: 3))
        _ = machine.apply(Entry(term: 1, index: 2, payload: .configChange(.remove(3))))
        _ = machine.apply(command(3, op: 4))
        let snapshot = Snapshot(
            metadata: SnapshotMetadata(index: 3, term: 1, configuration: machine.configuration),
            data: machine.encoded())
        let restored = try XCTUnwrap(OpStateMachine(snapshot: snapshot))
        XCTAssertEqual(restored, machine)
        XCTAssertEqual(restored.configuration.voters, [1, 2])
    }

    func testSnapshotWhoseDataDisagreesWithItsMetadataIsRejected() {
        var machine = OpStateMachine(configuration: configuration)
        _ = machine.apply(command(1, op: 3))
        let wrongIndex = Snapshot(
            metadata: SnapshotMetadata(index: 2, term: 1, configuration: configuration), data: machine.encoded())
        XCTAssertNil(OpStateMachine(snapshot: wrongIndex))
        let truncated = Snapshot(
            metadata: SnapshotMetadata(index: 1, term: 1, configuration: configuration),
            data: Array(machine.encoded().dropLast()))
        XCTAssertNil(OpStateMachine(snapshot: truncated))
    }

    func testDigestsDifferWhenHistoriesDiffer() {
        var a = OpStateMachine(configuration: configuration)
        var b = OpStateMachine(configuration: configuration)
        _ = a.apply(command(1, term: 1, op: 5))
        _ = b.apply(command(1, term: 2, op: 5))
        XCTAssertNotEqual(a.digest, b.digest, "same op, different term: a different history")
    }
}
