package org.castellan.server.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.castellan.server.config.ConfigException;
import org.castellan.server.config.internal.TomlDocument.Bool;
import org.castellan.server.config.internal.TomlDocument.Int;
import org.castellan.server.config.internal.TomlDocument.Str;
import org.castellan.server.config.internal.TomlDocument.StrArray;
import org.castellan.server.config.internal.TomlDocument.Table;
import org.castellan.server.config.internal.TomlDocument.Value;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class TomlParserTest {

    static List<Arguments> values() {
        return List.of(
                Arguments.of("\"plain\"", new Str("plain")),
                Arguments.of("\"\"", new Str("")),
                Arguments.of("\"a \\\"quoted\\\" word\"", new Str("a \"quoted\" word")),
                Arguments.of("\"back\\\\slash\"", new Str("back\\slash")),
                Arguments.of("\"two\\nlines\"", new Str("two\nlines")),
                Arguments.of("\"tab\\there\"", new Str("tab\there")),
                Arguments.of("\"\\u00e9t\\u00E9\"", new Str("été")),
                Arguments.of("\"raw\ttab\"", new Str("raw\ttab")),
                Arguments.of("\"# not a comment\"", new Str("# not a comment")),
                Arguments.of("\"unicode ✓ text\"", new Str("unicode ✓ text")),
                Arguments.of("0", new Int(0)),
                Arguments.of("25", new Int(25)),
                Arguments.of("-1", new Int(-1)),
                Arguments.of("+7", new Int(7)),
                Arguments.of("600_000", new Int(600_000)),
                Arguments.of("9223372036854775807", new Int(Long.MAX_VALUE)),
                Arguments.of("true", new Bool(true)),
                Arguments.of("false", new Bool(false)),
                Arguments.of("[]", new StrArray(List.of())),
                Arguments.of("[ ]", new StrArray(List.of())),
                Arguments.of("[\"*\"]", new StrArray(List.of("*"))),
                Arguments.of("[\"a\", \"b\"]", new StrArray(List.of("a", "b"))),
                Arguments.of("[\"a\",\"b\",]", new StrArray(List.of("a", "b"))),
                Arguments.of("[ \"x, y\" , \"]\" ]", new StrArray(List.of("x, y", "]"))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("values")
    void readsEveryValueType(String literal, Value expected) throws ConfigException {
        TomlDocument document = TomlParser.parse("[t]\nk = " + literal + "   # trailing comment\n", "f.toml");
        Table table = document.tables().get(1);
        assertThat(table.entries().get("k").value()).isEqualTo(expected);
        assertThat(table.entries().get("k").line()).isEqualTo(2);
        assertThat(TomlParser.parseValue(literal)).isEqualTo(expected);
        // What toToml writes reads back as the same value.
        assertThat(TomlParser.parseValue(expected.toToml())).isEqualTo(expected);
    }

    @Test
    void keepsTablesKeysAndLinesInFileOrder() throws ConfigException {
        String text = """
                # a comment line
                [server]
                  hostname = "mail.example.org"   # indented
                data-dir="."

                [[listener]]
                name = "a"
                [[listener]]
                name = "b"
                \t[ store ]
                kind = "embedded"
                """;
        TomlDocument document = TomlParser.parse(text, "castellan.toml");
        List<Table> tables = document.tables();
        assertThat(tables).extracting(Table::name).containsExactly("", "server", "listener", "listener", "store");
        assertThat(tables).extracting(Table::line).containsExactly(0, 2, 6, 8, 10);
        assertThat(tables).extracting(Table::prefix).containsExactly("", "server", "listener[1]", "listener[2]", "store");
        assertThat(tables.get(1).entries().keySet()).containsExactly("hostname", "data-dir");
        assertThat(tables.get(1).entries().get("data-dir").line()).isEqualTo(4);
        assertThat(tables.get(3).entries().get("name").value()).isEqualTo(new Str("b"));
        assertThat(tables.get(3).path("name")).isEqualTo("listener[2].name");
    }

    @Test
    void acceptsWindowsLineEndingsAndByteOrderMark() throws ConfigException {
        TomlDocument document = TomlParser.parse("\uFEFF[server]\r\nhostname = \"h\"\r\nport = 1\r\n", "f");
        assertThat(document.tables().get(1).entries().get("port").line()).isEqualTo(3);
    }

    static List<Arguments> errors() {
        return List.of(
                // line text, expected key in the message, expected fragment
                Arguments.of("k = 1.5", "t.k", "floats are not supported"),
                Arguments.of("k = 1e3", "t.k", "floats are not supported"),
                Arguments.of("k = inf", "t.k", "floats are not supported"),
                Arguments.of("k = 1979-05-27", "t.k", "dates and times are not supported"),
                Arguments.of("k = 07:32:00", "t.k", "dates and times are not supported"),
                Arguments.of("k = 0x1F", "t.k", "hexadecimal, octal and binary"),
                Arguments.of("k = 0755", "t.k", "leading zeros"),
                Arguments.of("k = 1__0", "t.k", "expected a value"),
                Arguments.of("k = 99999999999999999999", "t.k", "out of range"),
                Arguments.of("k = { a = 1 }", "t.k", "inline tables are not supported"),
                Arguments.of("k = 'literal'", "t.k", "literal strings"),
                Arguments.of("k = \"\"\"multi\"\"\"", "t.k", "multi-line strings are not supported"),
                Arguments.of("k = \"unterminated", "t.k", "unterminated string"),
                Arguments.of("k = \"bad \\x escape\"", "t.k", "unsupported escape \\x"),
                Arguments.of("k = \"bad \\u12\"", "t.k", "four hex digits"),
                Arguments.of("k = \"\\uD800\"", "t.k", "surrogate"),
                Arguments.of("k = \"bell\u0007\"", "t.k", "control characters"),
                Arguments.of("k = [\"a\", 1]", "t.k", "arrays may hold only"),
                Arguments.of("k = [[\"a\"]]", "t.k", "nested arrays"),
                Arguments.of("k = [\"a\"", "t.k", "unterminated array"),
                Arguments.of("k = [\"a\" \"b\"]", "t.k", "expected , or ]"),
                Arguments.of("k = mail.example.org", "t.k", "expected a value"),
                Arguments.of("k =", "t.k", "expected a value after ="),
                Arguments.of("k = \"a\" \"b\"", "t.k", "unexpected text after the value"),
                Arguments.of("k = true false", "t.k", "unexpected text after the value"),
                Arguments.of("a.b = 1", "t.a", "dotted keys are not supported"),
                Arguments.of("\"quoted\" = 1", "", "quoted keys are not supported"),
                Arguments.of("k 1", "t.k", "expected = after the key"),
                Arguments.of("= 1", "", "expected a key"),
                Arguments.of("[a.]", "a", "expected a table name"),
                Arguments.of("[t", "t", "expected ] to close"),
                Arguments.of("[[t]", "t", "expected ]] to close"),
                Arguments.of("[t] x", "t", "unexpected text after the table header"),
                Arguments.of("[t]", "t", "already defined on line 1"),
                Arguments.of("[[t]]", "t", "is a single table"),
                Arguments.of("k = 1\nk = 2", "t.k", "already set on line 2"),
                Arguments.of("x".repeat(5000), "", "line longer than"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("errors")
    void reportsErrorsWithFileLineAndKey(String line, String key, String fragment) {
        String text = "[t]\n" + line + "\n";
        int expectedLine = line.contains("\n") ? 3 : 2;
        assertThatThrownBy(() -> TomlParser.parse(text, "castellan.toml"))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.file()).isEqualTo("castellan.toml");
                    assertThat(e.line()).isEqualTo(expectedLine);
                    assertThat(e.key()).isEqualTo(key);
                    assertThat(e.problems()).hasSize(1);
                    assertThat(e.getMessage())
                            .startsWith("castellan.toml:" + expectedLine + ": " + (key.isEmpty() ? "" : key + ": "))
                            .contains(fragment);
                });
    }

    @Test
    void reportsEveryBadLineAtOnce() {
        String text = """
                [server]
                a = 1.5
                b = "ok"
                c = {}
                [[server]]
                d = 'x'
                """;
        assertThatThrownBy(() -> TomlParser.parse(text, "c.toml"))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
                        "c.toml:2: server.a: floats are not supported; use an integer",
                        "c.toml:4: server.c: inline tables are not supported; use a [table] section",
                        "c.toml:5: server: [server] on line 1 is a single table; write [server], not [[server]]",
                        "c.toml:6: d: literal strings ('...') are not supported; use double quotes and escape \\ as \\\\"));
    }

    @Test
    void arrayTableAfterSingleTableOfSameNameIsRefused() {
        assertThatThrownBy(() -> TomlParser.parse("[[listener]]\n[listener]\n", "f"))
                .hasMessage("f:2: listener: [[listener]] on line 1 is an array of tables; write [[listener]] for each entry");
    }
}
