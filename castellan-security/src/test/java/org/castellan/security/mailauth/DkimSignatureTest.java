package org.castellan.security.mailauth;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import org.castellan.security.mailauth.DkimResult.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The DKIM-Signature checks of RFC 6376 §6.1.1 that end a verification before any key is looked
 * up: each a result of its own, and none lets a malformed d=, s= or i= into the result.
 */
class DkimSignatureTest {

    private static final Instant NOW = Instant.ofEpochSecond(1_800_000_000L);

    /** A field RFC 6376 §3.5 accepts, with one tag replaced (or added) by {@code change}. */
    private static String field(String change) {
        String[] tags = {"v=1", "a=rsa-sha256", "d=example.com", "s=sel", "h=from:to", "bh=AAAA", "b=AAAA"};
        String name = change.substring(0, change.indexOf('='));
        StringBuilder b = new StringBuilder("DKIM-Signature: ");
        boolean replaced = false;
        for (String tag : tags) {
            boolean same = tag.startsWith(name + "=");
            replaced |= same;
            b.append(same ? change : tag).append("; ");
        }
        if (!replaced) b.append(change).append("; ");
        return b.toString();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            v=2                      | NEUTRAL   | signature version
            d=exa mple.com           | NEUTRAL   | signature d= or s= syntax
            s=sel.                   | NEUTRAL   | signature d= or s= syntax
            d=example.com.           | NEUTRAL   | signature d= or s= syntax
            i=a b@example.com        | NEUTRAL   | i= syntax
            i=@example.org           | PERMERROR | i= not within d=
            c=relaxed/fancy          | NEUTRAL   | unknown canonicalization
            c=relaxed/simple/simple  | NEUTRAL   | unknown canonicalization
            q=dns/other              | NEUTRAL   | unknown query method
            bh=%%%                   | NEUTRAL   | b= or bh= not base64
            b=                       | NEUTRAL   | b= or bh= not base64
            l=12a                    | NEUTRAL   | l= is not a number
            l=                       | NEUTRAL   | l= is not a number
            t=1234567890123456789    | NEUTRAL   | t= is not a number
            x=1799999999             | NEUTRAL   | signature expired
            """)
    void endsEarlyWithItsReason(String change, Status status, String reason) {
        DkimSignature.Parsed parsed = DkimSignature.parse(field(change), NOW);
        assertThat(parsed).isInstanceOfSatisfying(DkimSignature.Early.class, e -> {
            assertThat(e.result().status()).isEqualTo(status);
            assertThat(e.result().reason()).isEqualTo(reason);
            assertThat(e.result().domain()).doesNotContain(" ", ";");
            assertThat(e.result().identity()).doesNotContain(" ", ";");
        });
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            v=1
            q=dns/txt
            q=DNS/TXT
            c=relaxed
            i=user@mail.example.com
            d=ex_ample-1.com
            l=0
            t=123456789012345678
            x=1800000000
            """)
    void accepts(String change) {
        assertThat(DkimSignature.parse(field(change), NOW)).isInstanceOf(DkimSignature.Ok.class);
    }

    @Test
    void anExpiryNotAfterTheSigningTimeIsRefused() { // RFC 6376 §3.5: x= must be greater than t=
        for (String t : List.of("t=1800000001", "t=1800000000")) {
            DkimSignature.Parsed parsed = DkimSignature.parse(field(t) + "x=1800000000;", NOW.minusSeconds(10));
            assertThat(parsed).as(t).isInstanceOfSatisfying(DkimSignature.Early.class,
                    e -> assertThat(e.result().reason()).isEqualTo("x= not after t="));
        }
        assertThat(DkimSignature.parse(field("t=1799999999") + "x=1800000000;", NOW.minusSeconds(10))).isInstanceOf(DkimSignature.Ok.class);
    }
}
