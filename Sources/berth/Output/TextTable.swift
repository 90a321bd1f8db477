/// A plain-text table: a header row and left-aligned columns padded to their widest cell, two
/// spaces apart, no trailing spaces. A row may span several lines (a rejected node's reasons):
/// give its continuation lines empty cells in the leading columns.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: String...) {
        self.header = header
    }

    mutating func add(_ cells: [String]) {
        rows.append(cells)
    }

    mutating func add(_ cells: String...) {
        add(cells)
    }

    func render() -> String {
        let all = [header] + rows
        let columns = all.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in all {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return all.map { row in
            var line = ""
            for (index, cell) in row.enumerated() {
                line += cell
                if index < row.count - 1 { line += String(repeating: " ", count: widths[index] - cell.count + 2) }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }
        .joined(separator: "\n")
    }
}

/// Label and value pairs, labels padded to the widest (`berth nodes explain`).
struct KeyValueList {
    private var pairs: [(String, String)] = []

    mutating func add(_ label: String, _ value: String) {
        pairs.append((label, value))
    }

    func render() -> String {
        let width = pairs.map(\.0.count).max() ?? 0
        return pairs.map { label, value in
            label + String(repeating: " ", count: width - label.count + 2) + value
        }
        .joined(separator: "\n")
    }
}
