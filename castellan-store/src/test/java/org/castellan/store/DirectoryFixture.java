package org.castellan.store;

import java.util.OptionalLong;
import org.castellan.protocol.mail.EmailAddress;

/** What the store contracts need of a {@link Directory} to set a test up: accounts to work with. */
public interface DirectoryFixture {

    /** An empty directory, the same instance for the whole of one test. */
    Directory directory();

    /** Makes an account (and its domain when missing) with a credential shaped like a real one. */
    default Account account(String address) {
        EmailAddress a = EmailAddress.of(address);
        if (directory().getDomain(a.domain()).isEmpty()) directory().createDomain(a.domain());
        return directory().createAccount(a, "SCRAM-SHA-256$4096:c2FsdA==$stored:server", OptionalLong.empty());
    }
}
