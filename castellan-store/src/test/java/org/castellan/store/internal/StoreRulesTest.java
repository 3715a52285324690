package org.castellan.store.internal;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import org.castellan.store.Directory;
import org.castellan.store.MailboxNames;
import org.castellan.store.StoreException;
import org.junit.jupiter.api.Test;

/**
 * The limits both stores enforce through the same rules, each taken at its limit and refused one
 * past it, with the message the operator reads.
 */
class StoreRulesTest {

    private static final String HASH = "a".repeat(64);

    @Test
    void credentialsLabelsAndSelectorsAreTakenUpToTheirLimits() {
        assertThatCode(() -> DirectoryRules.validCredential("c".repeat(DirectoryRules.MAX_CREDENTIAL_LENGTH))).doesNotThrowAnyException();
        assertThatThrownBy(() -> DirectoryRules.validCredential("c".repeat(DirectoryRules.MAX_CREDENTIAL_LENGTH + 1)))
                .isInstanceOf(StoreException.class).hasMessage("the credential is longer than 4096 characters");
        String label = "l".repeat(DirectoryRules.MAX_LABEL_LENGTH);
        String selector = "s".repeat(Directory.MAX_APP_PASSWORD_SELECTOR);
        assertThatCode(() -> DirectoryRules.validAppPassword(label, "x", Optional.of(selector), Set.of("imap"))).doesNotThrowAnyException();
        assertThatThrownBy(() -> DirectoryRules.validAppPassword(label + "l", "x", Optional.empty(), Set.of("imap")))
                .isInstanceOf(StoreException.class).hasMessage("the label is longer than 100 characters");
        assertThatThrownBy(() -> DirectoryRules.validAppPassword(label, "x", Optional.of(selector + "s"), Set.of("imap")))
                .isInstanceOf(StoreException.class).hasMessage("an app password selector has 1 to 16 characters");
        assertThatCode(() -> DirectoryRules.validCertificateBinding("f".repeat(64), label)).doesNotThrowAnyException();
        assertThatThrownBy(() -> DirectoryRules.validCertificateBinding("f".repeat(64), label + "l"))
                .isInstanceOf(StoreException.class).hasMessage("the label is longer than 100 characters");
    }

    /** A node name is a DNS label: at most 63 characters (RFC 1035 §2.3.4). */
    @Test
    void nodeNamesAreTakenUpTo63Characters() {
        assertThatCode(() -> DirectoryRules.validNodeName(Optional.of("n".repeat(Directory.MAX_NODE_NAME)))).doesNotThrowAnyException();
        assertThatThrownBy(() -> DirectoryRules.validNodeName(Optional.of("n".repeat(Directory.MAX_NODE_NAME + 1))))
                .isInstanceOf(StoreException.class).hasMessageStartingWith("a node name is a DNS label");
    }

    /** A quota of zero bytes is a quota (nothing may be stored); only a negative one is refused. */
    @Test
    void aQuotaOfZeroIsTaken() {
        assertThatCode(() -> DirectoryRules.validQuota(OptionalLong.of(0))).doesNotThrowAnyException();
        assertThatThrownBy(() -> DirectoryRules.validQuota(OptionalLong.of(-1))).isInstanceOf(StoreException.class)
                .hasMessage("a quota cannot be negative, got -1");
    }

    @Test
    void enrollmentDeviceNamesAreTakenUpToTheLabelLimit() {
        Instant now = Instant.parse("2026-12-07T10:00:00Z");
        String device = "d".repeat(DirectoryRules.MAX_LABEL_LENGTH);
        assertThatCode(() -> DirectoryRules.validEnrollmentToken("et-0123abcd", HASH, device, "device", now.plusSeconds(1), now))
                .doesNotThrowAnyException();
        assertThatThrownBy(() -> DirectoryRules.validEnrollmentToken("et-0123abcd", HASH, device + "d", "device", now.plusSeconds(1), now))
                .isInstanceOf(StoreException.class).hasMessageStartingWith("an enrollment token needs a device name");
        assertThatThrownBy(() -> DirectoryRules.validEnrollmentToken("et-0123abcd", HASH, device, "device", now, now))
                .isInstanceOf(StoreException.class).hasMessage("an enrollment token must expire after now");
        assertThatCode(() -> DirectoryRules.validEnrollmentRequest("er-0123abcd", "user", device, HASH)).doesNotThrowAnyException();
        assertThatThrownBy(() -> DirectoryRules.validEnrollmentRequest("er-0123abcd", "user", device + "d", HASH))
                .isInstanceOf(StoreException.class).hasMessageStartingWith("an enrollment request needs a device name");
    }

    /** RFC 9051 §2.3.1.1: a UID is a 32-bit number; the last messages may take UIDs up to 4294967295 and no further. */
    @Test
    void uidsRunTo4294967295() {
        assertThatCode(() -> MailboxRules.requireUids("INBOX", MailboxRules.MAX_UID - 1, 2)).doesNotThrowAnyException();
        assertThatCode(() -> MailboxRules.requireUids("INBOX", MailboxRules.MAX_UID, 1)).doesNotThrowAnyException();
        assertThatThrownBy(() -> MailboxRules.requireUids("INBOX", MailboxRules.MAX_UID, 2)).isInstanceOf(StoreException.class)
                .hasMessageStartingWith("mailbox INBOX has too few UIDs left");
    }

    /** RFC 9051 §6.3.6: children move with a renamed mailbox; a new name may reach the name limit but not pass it. */
    @Test
    void renamedNamesMayReachTheLimit() {
        String to = "t".repeat(MailboxNames.MAX_NAME_LENGTH - "/child".length());
        assertThat(MailboxRules.renamed("old/child", "old", to)).isEqualTo(to + "/child").hasSize(MailboxNames.MAX_NAME_LENGTH);
        assertThatThrownBy(() -> MailboxRules.renamed("old/child", "old", to + "t")).isInstanceOf(StoreException.class)
                .hasMessageStartingWith("renaming would make old/child longer than");
    }

    /** A lease of the outbound queue ends after it starts and has room for at least one recipient. */
    @Test
    void aLeaseEndsAfterItStartsAndHoldsARecipient() {
        assertThatThrownBy(() -> QueueRules.requireLease(Instant.EPOCH, Instant.EPOCH, 1)).isInstanceOf(StoreException.class)
                .hasMessage("a lease must end after it starts");
        assertThatThrownBy(() -> QueueRules.requireLease(Instant.EPOCH, Instant.EPOCH.plusSeconds(1), 0)).isInstanceOf(StoreException.class)
                .hasMessage("a lease needs room for at least one recipient");
        assertThatCode(() -> QueueRules.requireLease(Instant.EPOCH, Instant.EPOCH.plusSeconds(1), 1)).doesNotThrowAnyException();
    }

    /** Rows with the same flags column share one set; a long column still reads right, unshared. */
    @Test
    void storedFlagsAreReadOnceAndSharedByRowsWithTheSameColumn() {
        Set<String> first = MailboxRules.storedFlags("\\Seen \\Answered $Label1");
        assertThat(first).containsExactlyInAnyOrder("\\Seen", "\\Answered", "$Label1");
        assertThat(MailboxRules.storedFlags("\\Seen \\Answered $Label1")).isSameAs(first);
        assertThat(MailboxRules.storedFlags("")).isEmpty();
        String keyword = "k".repeat(MailboxRules.SHARED_FLAGS_MAX_LENGTH);
        Set<String> own = MailboxRules.storedFlags("\\Seen " + keyword);
        assertThat(own).containsExactlyInAnyOrder("\\Seen", keyword);
        assertThat(MailboxRules.storedFlags("\\Seen " + keyword)).isEqualTo(own).isNotSameAs(own);
    }
}
