import Foundation

/// `--labels k=v,k2=v2`.
public enum LabelList {
    public struct Invalid: Error, CustomStringConvertible {
        public var item: String
        public var description: String { "label '\(item)' is not key=value with a non-empty key" }
    }

    /// The labels, later keys winning; an empty string is no labels.
    public static func parse(_ text: String) throws(Invalid) -> [String: String] {
        var labels: [String: String] = [:]
        for item in text.split(separator: ",") {
            let trimmed = item.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "="), equals != trimmed.startIndex else {
                throw Invalid(item: String(trimmed))
            }
            labels[String(trimmed[..<equals])] = String(trimmed[trimmed.index(after: equals)...])
        }
        return labels
    }
}
