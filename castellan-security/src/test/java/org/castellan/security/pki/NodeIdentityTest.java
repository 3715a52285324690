package org.castellan.security.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class NodeIdentityTest {

    @Test
    void theCanonicalFormRoundTrips() {
        assertThat(NodeIdentity.parse("castellan-node:edge/edge-1"))
                .contains(new NodeIdentity(NodeIdentity.Role.EDGE, "edge-1"));
        assertThat(NodeIdentity.parse("castellan-node:mailbox/m0")).hasValueSatisfying(n -> {
            assertThat(n.role()).isEqualTo(NodeIdentity.Role.MAILBOX);
            assertThat(n.uri()).isEqualTo("castellan-node:mailbox/m0");
        });
        String longest = "a".repeat(63);
        assertThat(NodeIdentity.parse("castellan-node:edge/" + longest)).isPresent();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", "castellan-node:", "castellan-node:edge", "castellan-node:edge/",
        "castellan-node:all/n1", "castellan-node:admin/n1", "castellan-node:EDGE/n1", "castellan-node:Edge/n1",
        "castellan-node:/n1", "Castellan-Node:edge/n1", "castellan-nodes:edge/n1", "https://edge/n1",
        "castellan-node:edge/N1", "castellan-node:edge/-n1", "castellan-node:edge/n1-", "castellan-node:edge/n_1",
        "castellan-node:edge/n.1", "castellan-node:edge/n1/x", "castellan-node:edge/n1?x", "castellan-node:edge/n1#x",
        "castellan-node:edge/n%31", "castellan-node:edge/n 1", "castellan-node:edge/n1\n", "castellan-node://edge/n1",
        "castellan-node:edge/ñ1",
    })
    void anythingElseIsRefused(String uri) {
        assertThat(NodeIdentity.parse(uri)).as(uri).isEmpty();
    }

    @Test
    void namesAreOneLowerCaseDnsLabel() {
        assertThat(NodeIdentity.isValidName("a".repeat(63))).isTrue();
        assertThat(NodeIdentity.isValidName("a".repeat(64))).as("RFC 1123 §2.1: 63 octets at most").isFalse();
        assertThat(NodeIdentity.isValidName("1edge")).isTrue();
        assertThat(NodeIdentity.isValidName(null)).isFalse();
        assertThatThrownBy(() -> new NodeIdentity(NodeIdentity.Role.EDGE, "Bad"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void parseIsNullSafe() {
        assertThat(NodeIdentity.parse(null)).isEmpty();
    }
}
