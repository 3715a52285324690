package org.castellan.protocol.imap;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.castellan.protocol.mail.AddressList;
import org.castellan.protocol.mail.EncodedWords;

/**
 * Jazzer fuzz targets for what reads a stored message (bad input gets a best-effort answer,
 * never an exception): the RFC 5322 address-list parser, RFC 2047 encoded words, and the MIME
 * structure with its sections, ENVELOPE, BODYSTRUCTURE, search text and stored form. {@code ./mvnw verify} runs them
 * in regression mode over {@code MimeFuzzTestInputs}; {@code JAZZER_FUZZ=1} fuzzes for real.
 */
class MimeFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void addressLists(FuzzedDataProvider data) {
        AddressList list = AddressList.parse(data.consumeRemainingAsString());
        assertThat(list.addresses().size()).isLessThanOrEqualTo(AddressList.MAX_ADDRESSES);
        for (AddressList.Mailbox m : list.mailboxes()) {
            assertThat(m.localPart()).isNotNull();
            if (list.wellFormed()) assertThat(m.domain()).as("a well-formed address has a domain").isNotEmpty();
            m.decodedName();
        }
    }

    /**
     * {@link EncodedWords#decode} on any header value: never longer than what it decodes (an
     * encoded word is longer than its text), text without "=?" unchanged; and any text encoded
     * as one B or Q word in UTF-8 (RFC 2047 §4) decodes to itself.
     */
    @FuzzTest(maxDuration = "30s")
    void encodedWords(FuzzedDataProvider data) {
        String text = new String(data.consumeBytes(data.consumeInt(0, 200)), StandardCharsets.UTF_8);
        String value = data.consumeRemainingAsString();
        String decoded = EncodedWords.decode(value);
        assertThat(decoded.length()).isLessThanOrEqualTo(value.length());
        if (!value.contains("=?")) assertThat(decoded).isEqualTo(value);
        if (text.isEmpty()) return;
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        assertThat(EncodedWords.decode("=?UTF-8?B?" + Base64.getEncoder().encodeToString(utf8) + "?=")).isEqualTo(text);
        StringBuilder q = new StringBuilder("=?utf-8?q?");
        for (byte b : utf8) q.append(String.format("=%02X", b & 0xff));
        assertThat(EncodedWords.decode(q.append("?=").toString())).isEqualTo(text);
    }

    @FuzzTest(maxDuration = "30s")
    void messages(FuzzedDataProvider data) {
        int paths = data.consumeInt(0, 8);
        List<List<Integer>> parts = new ArrayList<>();
        for (int i = 0; i < paths; i++) {
            List<Integer> part = new ArrayList<>();
            for (int k = data.consumeInt(0, 5); k > 0; k--) part.add(data.consumeInt(1, 5));
            parts.add(part);
        }
        byte[] message = data.consumeRemainingAsBytes();
        MessageStructure s = MessageStructure.parse(message);
        String structure = s.bodyStructure(true, false);
        assertThat(structure).startsWith("(").endsWith(")");
        assertThat(s.envelope(true)).startsWith("(").endsWith(")");
        s.searchText(message);
        s.addressText("From");
        s.firstAddress("To").ifPresent(MessageStructure.FirstAddress::display);
        for (List<Integer> part : parts) {
            for (FetchAttribute.Section.Kind kind : FetchAttribute.Section.Kind.values()) {
                if (kind == FetchAttribute.Section.Kind.MIME && part.isEmpty()) continue;
                s.section(message, new FetchAttribute.Section(part, kind, List.of("SUBJECT")));
            }
            s.binary(message, part);
        }
        MessageStructure stored = MessageStructure.decode(s.encode()).orElseThrow();
        assertThat(stored.bodyStructure(true, false)).isEqualTo(structure);
    }
}
