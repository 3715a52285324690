package org.castellan.server.smtp;

import static org.assertj.core.api.Assertions.assertThatNullPointerException;

import java.time.Clock;
import java.util.Optional;
import org.castellan.server.config.Smtp;
import org.castellan.server.transport.MessageSpool;
import org.castellan.store.MailStore;
import org.junit.jupiter.api.Test;

/** What an SMTP service cannot work without is asked for when it is built, not at its first session. */
class SmtpServiceTest {

    @Test
    void aServiceWithoutItsStoreIsRefusedWhenBuiltNamingTheStore() {
        assertThatNullPointerException()
                .isThrownBy(() -> new SmtpService("mail.example.org", (MailStore) null, null, null, Clock.systemUTC(),
                        SmtpLimits.DEFAULTS, Optional.empty(), MessageSpool.SYSTEM_TEMP, Smtp.DEFAULTS))
                .withMessage("store");
    }
}
