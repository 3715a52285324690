package org.castellan.protocol.smtp;

import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/** One parsed SMTP command (RFC 5321 §4.1.1 and the extensions Castellan offers). */
public sealed interface SmtpCommand {

    /** The command word, upper case, as the state table knows it. */
    String verb();

    /** RFC 5321 §4.1.1.1. */
    record Helo(String domain) implements SmtpCommand {
        public String verb() { return "HELO"; }
    }

    /** RFC 5321 §4.1.1.1; {@code domain} may be an address literal. */
    record Ehlo(String domain) implements SmtpCommand {
        public String verb() { return "EHLO"; }
    }

    /**
     * RFC 5321 §4.1.1.2.
     *
     * @param from empty for the null reverse-path {@code <>}
     * @param size the SIZE parameter (RFC 1870), when given
     * @param body the BODY parameter (RFC 6152), {@code 7BIT} when absent
     * @param smtpUtf8 the SMTPUTF8 parameter (RFC 6531 §3.4)
     * @param ret the RET parameter (RFC 3461 §4.3), {@code UNSPECIFIED} when absent
     * @param envid the ENVID parameter (RFC 3461 §4.4), xtext-decoded: printable ASCII
     * @param requireTls the REQUIRETLS parameter (RFC 8689 §4.1)
     */
    record Mail(Optional<Mailbox> from, OptionalLong size, Body body, boolean smtpUtf8, Dsn.Ret ret,
            Optional<String> envid, boolean requireTls) implements SmtpCommand {
        /** A MAIL command without REQUIRETLS. */
        public Mail(Optional<Mailbox> from, OptionalLong size, Body body, boolean smtpUtf8, Dsn.Ret ret,
                Optional<String> envid) {
            this(from, size, body, smtpUtf8, ret, envid, false);
        }

        public String verb() { return "MAIL"; }
    }

    /**
     * RFC 5321 §4.1.1.3.
     *
     * @param notifyOn the NOTIFY parameter (RFC 3461 §4.1): empty when not given, an empty set for NEVER
     * @param orcpt the ORCPT parameter (RFC 3461 §4.2) as {@code addr-type;address}, the address
     *     xtext-decoded; a {@code utf-8} address (RFC 6533 §3) is kept as given
     */
    record Rcpt(Mailbox to, Optional<Set<Dsn.Notify>> notifyOn, Optional<String> orcpt) implements SmtpCommand {
        public Rcpt {
            notifyOn = notifyOn.map(Set::copyOf);
        }

        public String verb() { return "RCPT"; }
    }

    /** RFC 5321 §4.1.1.4. */
    record Data() implements SmtpCommand {
        public String verb() { return "DATA"; }
    }

    /** RFC 3030 §2: a chunk of {@code size} octets follows the command line. */
    record Bdat(long size, boolean last) implements SmtpCommand {
        public String verb() { return "BDAT"; }
    }

    record Rset() implements SmtpCommand {
        public String verb() { return "RSET"; }
    }

    record Noop() implements SmtpCommand {
        public String verb() { return "NOOP"; }
    }

    record Quit() implements SmtpCommand {
        public String verb() { return "QUIT"; }
    }

    record Help() implements SmtpCommand {
        public String verb() { return "HELP"; }
    }

    /** RFC 5321 §4.1.1.6; Castellan never confirms addresses (§7.3). */
    record Vrfy() implements SmtpCommand {
        public String verb() { return "VRFY"; }
    }

    /** RFC 3207 §4. */
    record StartTls() implements SmtpCommand {
        public String verb() { return "STARTTLS"; }
    }

    /**
     * RFC 4954 §4.
     *
     * @param initialResponse decoded; present and empty for "=", absent when none was sent
     */
    record Auth(String mechanism, Optional<byte[]> initialResponse) implements SmtpCommand {
        public String verb() { return "AUTH"; }

        @Override
        public String toString() { return "Auth[" + mechanism + "]"; }
    }

    /** The BODY values of RFC 6152 §2 (BINARYMIME is not offered). */
    enum Body { SEVEN_BIT, EIGHT_BIT_MIME }
}
