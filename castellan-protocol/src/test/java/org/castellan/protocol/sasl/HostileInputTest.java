package org.castellan.protocol.sasl;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Every machine answers any byte sequence with a result value, never an exception: random bytes,
 * and valid messages with one byte changed, cut short or lengthened. Seeded, so a failure repeats.
 */
class HostileInputTest {

    private static final int ROUNDS = 3000;
    private static final byte[] SALT = Base64.getDecoder().decode("W22ZaJ0SNY7soEsUEjb6gQ==");
    private static final ScramCredential PENCIL = ScramClient.credential("pencil", SALT, 4096);
    private static final byte[] CLIENT_FIRST = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO".getBytes(StandardCharsets.UTF_8);
    private static final byte[] CLIENT_FINAL = ("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            + "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=").getBytes(StandardCharsets.UTF_8);

    private static byte[] mutate(Random random, byte[] valid) {
        byte[] message;
        switch (random.nextInt(4)) {
            case 0 -> {
                message = new byte[random.nextInt(80)];
                random.nextBytes(message);
            }
            case 1 -> {
                message = valid.clone();
                message[random.nextInt(message.length)] = (byte) random.nextInt(256);
            }
            case 2 -> message = java.util.Arrays.copyOf(valid, random.nextInt(valid.length + 1));
            default -> {
                message = java.util.Arrays.copyOf(valid, valid.length + 1 + random.nextInt(8));
                for (int i = valid.length; i < message.length; i++) message[i] = (byte) ",=\0a"
                        .charAt(random.nextInt(4));
            }
        }
        return message;
    }

    private static void survives(Supplier<SaslServer> machines, byte[] valid) {
        Random random = new Random(valid.length * 31L + 7);
        for (int i = 0; i < ROUNDS; i++) {
            SaslServer server = machines.get();
            SaslResult result = server.start(Optional.of(mutate(random, valid)));
            assertThat(result).isNotNull();
            if (result instanceof SaslResult.Challenge) assertThat(server.respond(mutate(random, valid))).isNotNull();
        }
    }

    @Test
    void plainLoginExternalSurvive() {
        survives(PlainServer::new, "authz\0user@example.org\0password".getBytes(StandardCharsets.UTF_8));
        survives(LoginServer::new, "user@example.org".getBytes(StandardCharsets.UTF_8));
        survives(ExternalServer::new, "user@example.org".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void scramSurvivesInBothMessages() {
        Random random = new Random(42);
        for (int i = 0; i < ROUNDS; i++) {
            ScramServer first = new ScramServer(false, Optional.empty(), false, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
            assertThat(first.start(Optional.of(mutate(random, CLIENT_FIRST)))).isNotNull();

            ScramServer last = new ScramServer(false, Optional.empty(), false, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
            last.start(Optional.of(CLIENT_FIRST));
            last.credential(PENCIL);
            SaslResult result = last.respond(mutate(random, CLIENT_FINAL));
            assertThat(result).isInstanceOfAny(SaslResult.Failed.class, SaslResult.Verified.class);
        }
    }
}
