package org.castellan.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/** How the store contracts check a refusal: the kind of {@link StoreException} and what its message names. */
public final class StoreAssertions {

    private StoreAssertions() {}

    public static void assertFails(StoreException.Kind kind, String messagePart, ThrowingCallable call) {
        assertThatThrownBy(call).isInstanceOfSatisfying(StoreException.class, e -> {
            assertThat(e.kind()).isEqualTo(kind);
            assertThat(e.getMessage()).containsIgnoringCase(messagePart);
        });
    }
}
