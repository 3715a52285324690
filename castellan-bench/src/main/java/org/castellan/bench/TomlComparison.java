package org.castellan.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.config.ConfigException;
import org.castellan.server.config.internal.TomlDocument;
import org.castellan.server.config.internal.TomlParser;

/**
 * Castellan's TOML reader against Jackson's ({@code jackson-dataformat-toml}), for the decision
 * recorded in docs/decisions/toml-parser.md. Prints three things:
 *
 * <ol>
 *   <li>TOML 1.0 conformance: documents taken from the examples of the specification
 *       (toml.io/en/v1.0.0), valid and invalid, and whether each parser accepts them with the
 *       values the specification gives;
 *   <li>the operator's view: mistakes in a real configuration, with the message each reader gives;
 *   <li>where a message can point: Jackson builds a tree before anything reads it, so a value
 *       that is well-formed TOML but wrong for its key has no line left to report.
 * </ol>
 *
 * <p>Reads {@code TomlParser}, an internal class of castellan-server, directly: the comparison is
 * of that class. Takes no arguments and no time worth measuring; not part of the test run.
 */
public final class TomlComparison {

    private static final TomlMapper JACKSON = new TomlMapper();

    /** A document of the specification: its feature, its text, and its value as JSON, or null if invalid. */
    private record Case(String feature, String toml, String json) {}

    // Values as Jackson writes its tree with default settings: dates and times stay strings, floats
    // are BigDecimals.
    private static final List<Case> VALID = List.of(
            new Case("comments", "# a comment\nkey = \"value\"  # at the end of a line\n", "{\"key\":\"value\"}"),
            new Case("bare keys", "bare_key = 1\nbare-key = 2\n1234 = 3\n", "{\"bare_key\":1,\"bare-key\":2,\"1234\":3}"),
            new Case("quoted keys", "\"127.0.0.1\" = \"v\"\n'quoted \"value\"' = \"v\"\n",
                    "{\"127.0.0.1\":\"v\",\"quoted \\\"value\\\"\":\"v\"}"),
            new Case("dotted keys", "name = \"Orange\"\nphysical.color = \"orange\"\nsite.\"google.com\" = true\n",
                    "{\"name\":\"Orange\",\"physical\":{\"color\":\"orange\"},\"site\":{\"google.com\":true}}"),
            new Case("basic-string escapes", "s = \"q\\\" b\\\\ t\\t n\\n r\\r e\\u00E9 x\\U0001F600 bs\\b ff\\f\"\n",
                    "{\"s\":\"q\\\" b\\\\ t\\t n\\n r\\r eé x😀 bs\\b ff\\f\"}"),
            new Case("multi-line basic string", "s = \"\"\"\nRoses are red\nViolets are blue\"\"\"\n",
                    "{\"s\":\"Roses are red\\nViolets are blue\"}"),
            new Case("line-ending backslash", "s = \"\"\"\\\n  The quick \\\n  fox.\"\"\"\n", "{\"s\":\"The quick fox.\"}"),
            new Case("literal string", "path = 'C:\\Users\\nodejs\\templates'\n", "{\"path\":\"C:\\\\Users\\\\nodejs\\\\templates\"}"),
            new Case("multi-line literal string", "re = '''\nI [dw]on't need \\d{2} apples'''\n",
                    "{\"re\":\"I [dw]on't need \\\\d{2} apples\"}"),
            new Case("decimal integers", "a = +99\nb = -17\nc = 0\nd = 1_000\ne = 9223372036854775807\n",
                    "{\"a\":99,\"b\":-17,\"c\":0,\"d\":1000,\"e\":9223372036854775807}"),
            new Case("hex, octal, binary integers", "h = 0xDEAD_BEEF\no = 0o755\nb = 0b1101\n",
                    "{\"h\":3735928559,\"o\":493,\"b\":13}"),
            new Case("floats", "a = 3.1415\nb = 5e+22\nc = -2E-2\nd = 6.626e-34\n",
                    "{\"a\":3.1415,\"b\":5E+22,\"c\":-0.02,\"d\":6.626E-34}"),
            new Case("inf and nan", "a = inf\nb = -inf\nc = nan\n", "{\"a\":\"Infinity\",\"b\":\"-Infinity\",\"c\":\"NaN\"}"),
            new Case("booleans", "t = true\nf = false\n", "{\"t\":true,\"f\":false}"),
            new Case("offset date-time", "a = 1979-05-27T07:32:00Z\nb = 1979-05-27 00:32:00.999999-07:00\n",
                    "{\"a\":\"1979-05-27T07:32:00Z\",\"b\":\"1979-05-27T00:32:00.999999-07:00\"}"),
            new Case("local date-time, date, time", "a = 1979-05-27T07:32:00\nb = 1979-05-27\nc = 07:32:00\n",
                    "{\"a\":\"1979-05-27T07:32:00\",\"b\":\"1979-05-27\",\"c\":\"07:32:00\"}"),
            new Case("arrays of mixed types", "a = [ 1, 2, 3 ]\nb = [ [ 1, 2 ], [\"a\", 'b'] ]\nc = [ 0.1, \"x\", 1 ]\n",
                    "{\"a\":[1,2,3],\"b\":[[1,2],[\"a\",\"b\"]],\"c\":[0.1,\"x\",1]}"),
            new Case("multi-line array, trailing comma", "a = [\n  \"x\",  # comment\n  \"y\",\n]\n", "{\"a\":[\"x\",\"y\"]}"),
            new Case("tables", "[table-1]\nkey1 = \"some string\"\n[table-2]\nkey1 = 456\n",
                    "{\"table-1\":{\"key1\":\"some string\"},\"table-2\":{\"key1\":456}}"),
            new Case("dotted and quoted table names", "[dog.\"tater.man\"]\ntype.name = \"pug\"\n[ j . \"k\" . 'l' ]\n",
                    "{\"dog\":{\"tater.man\":{\"type\":{\"name\":\"pug\"}}},\"j\":{\"k\":{\"l\":{}}}}"),
            new Case("super-table defined after", "[x.y.z.w]\n[x]\na = 1\n", "{\"x\":{\"y\":{\"z\":{\"w\":{}}},\"a\":1}}"),
            new Case("inline tables", "point = { x = 1, y = 2 }\nanimal = { type.name = \"pug\" }\n",
                    "{\"point\":{\"x\":1,\"y\":2},\"animal\":{\"type\":{\"name\":\"pug\"}}}"),
            new Case("arrays of tables", "[[products]]\nname = \"Hammer\"\n[[products]]\n[[products]]\nname = \"Nail\"\n",
                    "{\"products\":[{\"name\":\"Hammer\"},{},{\"name\":\"Nail\"}]}"),
            new Case("nested arrays of tables", "[[fruits]]\nname = \"apple\"\n[fruits.physical]\ncolor = \"red\"\n"
                    + "[[fruits.varieties]]\nname = \"red delicious\"\n",
                    "{\"fruits\":[{\"name\":\"apple\",\"physical\":{\"color\":\"red\"},\"varieties\":[{\"name\":\"red delicious\"}]}]}"),
            new Case("CRLF line ends", "[t]\r\nk = \"v\"\r\n", "{\"t\":{\"k\":\"v\"}}"));

    private static final List<Case> INVALID = List.of(
            new Case("key without value", "key = # INVALID\n", null),
            new Case("two pairs on one line", "first = \"Tom\" last = \"Preston-Werner\"\n", null),
            new Case("no key", "= \"no key name\"\n", null),
            new Case("duplicate key", "name = \"Tom\"\nname = \"Pradyun\"\n", null),
            new Case("duplicate key, once quoted", "spelling = \"favorite\"\n\"spelling\" = \"favourite\"\n", null),
            new Case("integer key turned table", "fruit.apple = 1\nfruit.apple.smooth = true\n", null),
            new Case("table defined twice", "[fruit]\napple = \"red\"\n[fruit]\norange = \"orange\"\n", null),
            new Case("key turned table", "[fruit]\napple = \"red\"\n[fruit.apple]\ntexture = \"smooth\"\n", null),
            new Case("unknown escape", "s = \"\\x41\"\n", null),
            new Case("surrogate escape", "s = \"\\uD800\"\n", null),
            new Case("control character in string", "s = \"bell\u0007\"\n", null),
            new Case("newline in basic string", "s = \"one\ntwo\"\n", null),
            new Case("unterminated string", "s = \"open\n", null),
            new Case("leading zero", "n = 0755\n", null),
            new Case("double underscore", "n = 1__000\n", null),
            new Case("integer out of 64 bits", "n = 9223372036854775808\n", null),
            new Case("float without leading digit", "f = .7\n", null),
            new Case("float without trailing digit", "f = 7.\n", null),
            new Case("inline table over lines", "p = { x = 1,\n y = 2 }\n", null),
            new Case("inline table trailing comma", "p = { x = 1, }\n", null),
            new Case("inline table extended", "[product]\ntype = { name = \"Nail\" }\ntype.edible = false\n", null),
            new Case("array of tables after static array", "fruits = []\n[[fruits]]\n", null),
            new Case("table after array of tables", "[[fruits]]\nname = \"a\"\n[fruits]\nname = \"b\"\n", null),
            new Case("non-ASCII bare key", "ʎǝʞ = 1\n", null),
            new Case("text after a table header", "[a] b = 1\n", null),
            new Case("invalid month", "d = 1979-13-27\n", null));

    /** A configuration an operator might write, each with one mistake, and what it tests. */
    private static final String SERVER = "[server]\nhostname = \"mail.example.org\"\ndata-dir = \"/var/lib/castellan\"\n\n";
    private static final List<Case> MISTAKES = List.of(
            new Case("port written as a string", SERVER + "[[listener]]\nname = \"imaps\"\nprotocol = \"imap\"\nport = \"993\"\n", ""),
            new Case("port out of range", SERVER + "[[listener]]\nname = \"imaps\"\nprotocol = \"imap\"\nport = 99300\n", ""),
            new Case("misspelt key", SERVER + "[[listener]]\nname = \"imaps\"\nprotocol = \"imap\"\nprot = 993\n", ""),
            new Case("duration without unit", SERVER + "[auth]\nfirst-delay = 2\n", ""),
            new Case("closing quote missing", SERVER + "[tls]\npreset = \"modern\ncertificate = \"chain.pem\"\n", ""),
            new Case("path with Windows backslashes", SERVER + "[log]\nfile = \"C:\\logs\\castellan.log\"\n", ""),
            new Case("key set twice", SERVER + "[auth]\nfree-failures = 3\nfree-failures = 5\n", ""),
            new Case("[listener] for [[listener]]", SERVER + "[listener]\nname = \"imaps\"\n", ""),
            new Case("array left open over lines", SERVER + "[tls]\nclient-ca-files = [\"a.pem\",\n  \"b.pem\"]\n", ""),
            new Case("decimal point in an integer", SERVER + "[auth]\nscram-iterations = 4096.0\n", ""),
            new Case("two mistakes at once", SERVER + "[auth]\nfree-failures = 3.5\nblock-after = 'x'\n", ""));

    private TomlComparison() {}

    public static void main(String[] args) {
        System.out.println("== TOML 1.0 documents the specification calls valid: accepted with its values?");
        int[] scores = new int[4];
        for (Case c : VALID) {
            String ours = ours(c.toml);
            String jackson = jackson(c.toml);
            boolean oursOk = ours.equals(c.json);
            boolean jacksonOk = jackson.equals(c.json);
            scores[0] += oursOk ? 1 : 0;
            scores[1] += jacksonOk ? 1 : 0;
            System.out.printf("%-32s castellan %-4s jackson %-4s%n", c.feature, oursOk ? "yes" : "no", jacksonOk ? "yes" : "no");
            if (!oursOk) System.out.println("    castellan: " + ours);
            if (!jacksonOk) System.out.println("    jackson:   " + jackson);
        }
        System.out.println();
        System.out.println("== TOML 1.0 documents the specification calls invalid: refused?");
        for (Case c : INVALID) {
            String ours = ours(c.toml);
            String jackson = jackson(c.toml);
            boolean oursOk = ours.startsWith("error");
            boolean jacksonOk = jackson.startsWith("error");
            scores[2] += oursOk ? 1 : 0;
            scores[3] += jacksonOk ? 1 : 0;
            System.out.printf("%-36s castellan %-4s jackson %-4s%n", c.feature, oursOk ? "yes" : "no", jacksonOk ? "yes" : "no");
            System.out.println("    castellan: " + ours);
            System.out.println("    jackson:   " + jackson);
        }
        System.out.printf("%nvalid accepted:   castellan %d/%d, jackson %d/%d%n", scores[0], VALID.size(), scores[1], VALID.size());
        System.out.printf("invalid refused:  castellan %d/%d, jackson %d/%d%n", scores[2], INVALID.size(), scores[3], INVALID.size());

        System.out.println();
        System.out.println("== An operator's mistakes: what each reader says");
        for (Case c : MISTAKES) {
            System.out.println(c.feature + ":");
            System.out.println("    castellan: " + castellanConfig(c.toml).replace("\n", "\n               "));
            String jackson = jackson(c.toml);
            System.out.println("    jackson:   " + (jackson.startsWith("error") ? jackson
                    : "parses; its tree holds no line, so validation could name the key but not the line"));
        }
    }

    /** The document as JSON in Jackson's notation, or the error messages. */
    private static String ours(String toml) {
        try {
            return json(TomlParser.parse(toml, "castellan.toml"));
        } catch (ConfigException e) {
            return "error " + e.getMessage().replace("\n", " | ");
        }
    }

    private static String jackson(String toml) {
        try {
            JsonNode tree = JACKSON.readTree(toml);
            return tree.toString();
        } catch (IOException e) {
            return "error " + e.getClass().getSimpleName() + ": " + e.getMessage().replace("\n", " ");
        }
    }

    /** What {@code castellan serve} prints for the file: syntax and validation together. */
    private static String castellanConfig(String toml) {
        try {
            CastellanConfig.parse(toml, Path.of("castellan.toml"));
            return "accepted";
        } catch (ConfigException e) {
            return e.getMessage();
        }
    }

    private static String json(TomlDocument document) {
        // Our subset has only top-level tables of scalars, so flat nesting is enough; the root
        // table's keys go first, as Jackson's tree has them.
        StringBuilder out = new StringBuilder("{");
        String sep = "";
        java.util.Map<String, List<TomlDocument.Table>> arrays = new java.util.LinkedHashMap<>();
        for (TomlDocument.Table t : document.tables()) {
            if (t.name().isEmpty()) {
                for (TomlDocument.Entry e : t.entries().values()) {
                    out.append(sep).append(entry(e));
                    sep = ",";
                }
            } else if (t.array()) {
                if (!arrays.containsKey(t.name())) {
                    arrays.put(t.name(), new java.util.ArrayList<>());
                    out.append(sep).append('"').append(t.name()).append("\":@").append(t.name()).append('@');
                    sep = ",";
                }
                arrays.get(t.name()).add(t);
            } else {
                out.append(sep).append('"').append(t.name()).append("\":").append(object(t));
                sep = ",";
            }
        }
        String text = out.append('}').toString();
        for (var a : arrays.entrySet()) {
            text = text.replace("@" + a.getKey() + "@",
                    "[" + String.join(",", a.getValue().stream().map(TomlComparison::object).toList()) + "]");
        }
        return text;
    }

    private static String object(TomlDocument.Table t) {
        return "{" + String.join(",", t.entries().values().stream().map(TomlComparison::entry).toList()) + "}";
    }

    private static String entry(TomlDocument.Entry e) {
        return jsonString(e.key()) + ":" + switch (e.value()) {
            case TomlDocument.Str s -> jsonString(s.value());
            case TomlDocument.Int i -> Long.toString(i.value());
            case TomlDocument.Bool b -> Boolean.toString(b.value());
            case TomlDocument.StrArray a -> "[" + String.join(",", a.values().stream().map(TomlComparison::jsonString).toList()) + "]";
        };
    }

    private static String jsonString(String s) {
        return JACKSON.getNodeFactory().textNode(s).toString();
    }
}
