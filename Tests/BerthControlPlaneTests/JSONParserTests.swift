import BerthControlPlane
import Testing

/// The strict parser every API body goes through.
@Suite struct JSONParserTests {
    func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try JSONParser.parse(Array(text.utf8))
    }

    func refuses(_ text: String) -> Bool {
        (try? parse(text)) == nil
    }

    @Test("values of every type")
    func values() throws {
        #expect(
            try parse(#" {"a": [1, -2, 3.5, true, false, null, "s"], "b": {}} "#)
                == .object([
                    "a": .array([
                        .integer(1), .integer(-2), .number(3.5), .bool(true), .bool(false), .null, .string("s"),
                    ]),
                    "b": .object([:]),
                ]))
    }

    @Test("integers stay exact within 64 bits; fractions, exponents and larger ones are numbers")
    func numbers() throws {
        #expect(try parse("9223372036854775807") == .integer(Int64.max))
        #expect(try parse("-9223372036854775808") == .integer(Int64.min))
        #expect(try parse("9223372036854775808") == .number(9_223_372_036_854_775_808))
        #expect(try parse("1e3") == .number(1000))
        #expect(try parse("-0") == .integer(0))
        #expect(try parse("0.5E-1") == .number(0.05))
        for bad in ["01", "1.", ".5", "+1", "1e", "-", "1.e3", "0x10", "NaN", "Infinity"] {
            #expect(refuses(bad), "\(bad)")
        }
    }

    @Test("string escapes, including surrogate pairs")
    func strings() throws {
        #expect(try parse(#""a\"b\\c\/d\b\f\n\r\t""#) == .string("a\"b\\c/d\u{8}\u{c}\n\r\t"))
        #expect(try parse(#""\u00e9\u20AC\ud83d\ude00""#) == .string("é€😀"))
        #expect(refuses(#""\ud83d""#))
        #expect(refuses(#""\ude00""#))
        #expect(refuses(#""\x""#))
        #expect(refuses("\"a\u{1}b\""))
        #expect(refuses("\"unterminated"))
    }

    @Test("invalid UTF-8 is refused rather than repaired")
    func invalidUTF8() {
        #expect((try? JSONParser.parse([0x22, 0xFF, 0x22])) == nil)
        #expect((try? JSONParser.parse([0x22, 0xC3, 0xA9, 0x22])) == .string("é"))
    }

    @Test("duplicate keys are refused: two readers could disagree on which one counts")
    func duplicateKeys() {
        #expect(throws: JSONParseError(offset: 9, reason: "duplicate key")) { try parse(#"{"a": 1, "a": 2}"#) }
    }

    @Test("structure errors, trailing data and empty input are refused with an offset")
    func structure() {
        for bad in ["", " ", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "[1 2]", "{} {}", "tru", "nul", "{1: 2}"] {
            #expect(refuses(bad), "\(bad)")
        }
        #expect(throws: JSONParseError(offset: 3, reason: "unexpected data after the document")) { try parse("{} x") }
    }

    @Test("nesting deeper than the limit is refused, not a stack overflow")
    func depth() throws {
        let limit = ValidationLimits.jsonMaxDepth
        #expect(throws: Never.self) {
            try parse(String(repeating: "[", count: limit) + String(repeating: "]", count: limit))
        }
        #expect(refuses(String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)))
        #expect(refuses(String(repeating: "[", count: 100_000)))
    }
}
