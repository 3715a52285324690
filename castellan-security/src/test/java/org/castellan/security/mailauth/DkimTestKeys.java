package org.castellan.security.mailauth;

import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/** The RFC 8463 Appendix A example, keys made for tests, and a DNS answering from a map. */
final class DkimTestKeys {

    private DkimTestKeys() {}

    /** RFC 8463 Appendix A.1: the Ed25519 private key (seed). */
    static final String RFC8463_ED25519_SEED = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
    /** RFC 8463 Appendix A.2: the key records. */
    static final String RFC8463_BRISBANE = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    static final String RFC8463_TEST = "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR"
            + "iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC"
            + "DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3"
            + "Ip3G+2kryOTIKT+l/K4w3QIDAQAB";
    static final String RFC8463_BODY_HASH = "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=";
    static final String RFC8463_ED25519_B =
            "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";

    /** RFC 8463 Appendix A.3: the two signature fields. */
    static final String RFC8463_SIGNATURES = String.join("\r\n",
            "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;",
            " d=football.example.com; i=@football.example.com;",
            " q=dns/txt; s=brisbane; t=1528637909; h=from : to :",
            " subject : date : message-id : from : subject : date;",
            " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;",
            " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus",
            " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==",
            "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;",
            " d=football.example.com; i=@football.example.com;",
            " q=dns/txt; s=test; t=1528637909; h=from : to : subject :",
            " date : message-id : from : subject : date;",
            " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;",
            " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3",
            " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz",
            " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=") + "\r\n";

    /** RFC 8463 Appendix A.3: the message the signatures are on. */
    static final String RFC8463_MESSAGE = String.join("\r\n",
            "From: Joe SixPack <joe@football.example.com>",
            "To: Suzie Q <suzie@shopping.example.net>",
            "Subject: Is dinner ready?",
            "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)",
            "Message-ID: <20030712040037.46341.5F8J@football.example.com>",
            "",
            "Hi.",
            "",
            "We lost the game.  Are you hungry yet?",
            "",
            "Joe.",
            "");

    static byte[] rfc8463Signed() {
        return (RFC8463_SIGNATURES + RFC8463_MESSAGE).getBytes(StandardCharsets.ISO_8859_1);
    }

    static PrivateKey rfc8463Ed25519() throws Exception {
        byte[] seed = Base64.getDecoder().decode(RFC8463_ED25519_SEED);
        byte[] pkcs8 = HexFormat.of().parseHex("302e020100300506032b657004220420"); // RFC 8410 §7
        byte[] der = new byte[pkcs8.length + seed.length];
        System.arraycopy(pkcs8, 0, der, 0, pkcs8.length);
        System.arraycopy(seed, 0, der, pkcs8.length, seed.length);
        return KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(der));
    }

    static KeyPair rsa2048() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return g.generateKeyPair();
    }

    static KeyPair ed25519() throws Exception {
        return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    }

    /** A DNS that knows only the TXT records put into it; every other name does not exist. */
    static final class Zone implements DnsLookup {
        final Map<String, Answer<String>> txt = new HashMap<>();
        /** TXT queries answered. */
        int queries;

        Zone with(String name, String... records) {
            txt.put(name, new Found<>(List.of(records)));
            return this;
        }

        Zone failing(String name) {
            txt.put(name, new Failed<>("SERVFAIL"));
            return this;
        }

        static Zone rfc8463() {
            return new Zone().with("brisbane._domainkey.football.example.com", RFC8463_BRISBANE)
                    .with("test._domainkey.football.example.com", RFC8463_TEST);
        }

        @Override
        public Answer<String> txt(String name) {
            queries++;
            return txt.getOrDefault(name, new NotFound<>());
        }

        @Override
        public Answer<java.net.InetAddress> addresses(String name) {
            return new NotFound<>();
        }

        @Override
        public Answer<String> mx(String name) {
            return new NotFound<>();
        }

        @Override
        public Answer<String> ptr(java.net.InetAddress address) {
            return new NotFound<>();
        }
    }
}
