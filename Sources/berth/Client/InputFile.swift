import Foundation

/// A JSON document named on the command line: a path, or `-` for stdin. It is sent as it is:
/// the server validates it and names every problem.
enum InputFile {
    static func read(_ path: String) throws(CLIError) -> String {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: path) else {
                let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
                throw .usage("\(path) \(reason)")
            }
            data = contents
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .usage("\(path == "-" ? "stdin" : path) is not UTF-8 text")
        }
        return text
    }
}
