import BerthControlPlane
import Foundation

/// The stored form of a launch's placement explanation. Every member writes one per placement,
/// at apply, and it lists every node of the fleet: as JSON (with a derived message per reason)
/// it was 1.6 MB at 10,000 nodes, and writing it was most of what a placement cost. This form
/// keeps exactly the same values (messages are derived from code and evidence, so they are not
/// stored) in about a tenth of the bytes: varints, and each evidence string written once per
/// explanation and referred to by number, because the same few strings (`zone=z1`, the
/// workload's needs) recur on thousands of nodes.
///
/// Layout, after the format byte: evaluated_at (zigzag varint); the string table (count, then
/// each string); the ranked nodes (count; each: node id, then the four components in
/// millipoints); the rejected nodes (count; each: node id, reason count, then per reason the
/// code's position in `RejectionCode.allCases` and the two evidences).
extension Explanation {
    /// The first byte of the binary form. Rows written before it held JSON, whose first byte is
    /// `{`; `init(storedBytes:)` still reads those.
    static let binaryFormat: UInt8 = 0xB1

    public func storedBytes() -> [UInt8] {
        var strings = EvidenceStrings()
        var body = ByteWriter(reservingCapacity: 16 + rankedNodes.count * 24 + rejectedNodes.count * 24)
        body.writeVarint(UInt64(rankedNodes.count))
        for node in rankedNodes {
            body.writeShortString(node.nodeID)
            body.writeVarint(zigzag: node.components.resourceFitMilli)
            body.writeVarint(zigzag: node.components.spreadMilli)
            body.writeVarint(zigzag: node.components.backendPreferenceMilli)
            body.writeVarint(zigzag: node.components.healthMilli)
        }
        body.writeVarint(UInt64(rejectedNodes.count))
        for node in rejectedNodes {
            body.writeShortString(node.nodeID)
            body.writeVarint(UInt64(node.reasons.count))
            for reason in node.reasons {
                body.write(UInt8(RejectionCode.position(of: reason.code)))
                body.write(reason.needed, strings: &strings)
                body.write(reason.available, strings: &strings)
            }
        }
        var out = ByteWriter(reservingCapacity: body.bytes.count + strings.byteCount + 32)
        out.write(Self.binaryFormat)
        out.writeVarint(zigzag: Int(evaluatedAtMs))
        out.writeVarint(UInt64(strings.ordered.count))
        for string in strings.ordered { out.writeShortString(string) }
        out.write(body.bytes)
        return out.bytes
    }

    /// Reads what `storedBytes()` wrote, or the JSON that rows written by earlier versions hold.
    /// Nil for bytes that are neither.
    public init?(storedBytes bytes: [UInt8]) {
        guard let first = bytes.first else { return nil }
        guard first == Self.binaryFormat else {
            guard first == UInt8(ascii: "{"),
                let decoded = try? JSONDecoder().decode(Explanation.self, from: Data(bytes))
            else { return nil }
            self = decoded
            return
        }
        var reader = ByteReader(bytes)
        _ = reader.readUInt8()
        guard let at = reader.readZigzagVarint(), let stringCount = reader.readCount() else { return nil }
        var strings: [String] = []
        strings.reserveCapacity(stringCount)
        for _ in 0..<stringCount {
            guard let string = reader.readShortString() else { return nil }
            strings.append(string)
        }
        guard let rankedCount = reader.readCount() else { return nil }
        var ranked: [RankedNode] = []
        ranked.reserveCapacity(rankedCount)
        for _ in 0..<rankedCount {
            guard let id = reader.readShortString(), let fit = reader.readZigzagVarint(),
                let spread = reader.readZigzagVarint(), let backend = reader.readZigzagVarint(),
                let health = reader.readZigzagVarint()
            else { return nil }
            ranked.append(
                RankedNode(
                    nodeID: id,
                    components: ScoreComponents(
                        resourceFitMilli: fit, spreadMilli: spread, backendPreferenceMilli: backend,
                        healthMilli: health)))
        }
        guard let rejectedCount = reader.readCount() else { return nil }
        var rejected: [RejectedNode] = []
        rejected.reserveCapacity(rejectedCount)
        for _ in 0..<rejectedCount {
            guard let id = reader.readShortString(), let reasonCount = reader.readCount() else { return nil }
            var reasons: [Rejection] = []
            reasons.reserveCapacity(reasonCount)
            for _ in 0..<reasonCount {
                guard let position = reader.readUInt8(), Int(position) < RejectionCode.allCases.count,
                    let needed = reader.readEvidence(strings), let available = reader.readEvidence(strings)
                else { return nil }
                reasons.append(
                    Rejection(code: RejectionCode.allCases[Int(position)], needed: needed, available: available))
            }
            rejected.append(RejectedNode(nodeID: id, reasons: reasons))
        }
        guard reader.remaining == 0 else { return nil }
        self.init(evaluatedAtMs: Int64(at), rankedNodes: ranked, rejectedNodes: rejected)
    }
}

/// The evidence strings of one explanation, each numbered the first time it is written.
private struct EvidenceStrings {
    var numbers: [String: Int] = [:]
    var ordered: [String] = []
    var byteCount = 0

    /// The number last given out: rejections of consecutive nodes mostly repeat the same
    /// evidence (the workload's needs), and comparing one string is cheaper than hashing it.
    var last: (string: String, number: Int)?

    mutating func number(of string: String) -> Int {
        if let last, last.string == string { return last.number }
        let number = assign(string)
        last = (string, number)
        return number
    }

    private mutating func assign(_ string: String) -> Int {
        if let known = numbers[string] { return known }
        let number = ordered.count
        numbers[string] = number
        ordered.append(string)
        byteCount += string.utf8.count + 2
        return number
    }
}

extension RejectionCode {
    /// The code's position in declaration order: its number in the stored form.
    fileprivate static func position(of code: RejectionCode) -> Int {
        // allCases is eleven entries: a scan is cheaper than building a table per call.
        allCases.firstIndex(of: code)!
    }
}

extension ByteWriter {
    fileprivate mutating func write(_ evidence: Evidence, strings: inout EvidenceStrings) {
        switch evidence {
        case .none: write(UInt8(0))
        case .int(let value):
            write(UInt8(1))
            writeVarint(zigzag: Int(value))
        case .string(let value):
            write(UInt8(2))
            writeVarint(UInt64(strings.number(of: value)))
        case .bool(let value): write(UInt8(value ? 4 : 3))
        case .list(let values):
            write(UInt8(5))
            writeVarint(UInt64(values.count))
            for value in values { writeVarint(UInt64(strings.number(of: value))) }
        }
    }

    /// LEB128: seven bits a byte, low bits first.
    mutating func writeVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            write(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        write(UInt8(rest))
    }

    /// Small negative numbers stay short: 0, -1, 1, -2… become 0, 1, 2, 3…
    mutating func writeVarint(zigzag value: Int) {
        let signed = Int64(value)
        writeVarint(UInt64(bitPattern: (signed << 1) ^ (signed >> 63)))
    }

    mutating func writeShortString(_ value: String) {
        let utf8 = value.utf8
        writeVarint(UInt64(utf8.count))
        write(utf8)
    }
}

extension ByteReader {
    fileprivate mutating func readEvidence(_ strings: [String]) -> Evidence? {
        // A string's number is an index into the table, not a count of bytes to come: bounding
        // it by the bytes left refused an explanation whose last evidence named a later string.
        func string() -> String? {
            guard let number = readVarint(), number < UInt64(strings.count) else { return nil }
            return strings[Int(number)]
        }
        switch readUInt8() {
        case 0: return Evidence.none
        case 1: return readZigzagVarint().map { .int(Int64($0)) }
        case 2: return string().map { .string($0) }
        case 3: return .bool(false)
        case 4: return .bool(true)
        case 5:
            guard let count = readCount() else { return nil }
            var values: [String] = []
            for _ in 0..<count {
                guard let value = string() else { return nil }
                values.append(value)
            }
            return .list(values)
        default: return nil
        }
    }

    mutating func readVarint() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while shift < 64 {
            guard let byte = readUInt8() else { return nil }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        return nil
    }

    mutating func readZigzagVarint() -> Int? {
        readVarint().map { Int(Int64(bitPattern: ($0 >> 1) ^ (0 &- ($0 & 1)))) }
    }

    /// A count or a length: at most what is left to read, so bad bytes cannot ask for a huge
    /// allocation.
    mutating func readCount() -> Int? {
        guard let value = readVarint(), value <= UInt64(remaining) else { return nil }
        return Int(value)
    }

    mutating func readShortString() -> String? {
        guard let length = readCount(), let bytes = readBytes(length) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }
}
