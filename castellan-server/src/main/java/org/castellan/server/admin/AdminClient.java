package org.castellan.server.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The command line's side of the admin channel ({@link AdminServer}): one request, one answer.
 *
 * <p>Failure: {@link #request} throws {@link AdminException} with one line for the operator —
 * no server running, permission denied, or the server's own error message.
 */
public final class AdminClient {

    /** An answer is a session listing; a server with this many bytes of sessions is beyond a terminal anyway. */
    static final int MAX_ANSWER_BYTES = 64 * 1024 * 1024;

    private final Path socket;

    public AdminClient(Path socket) {
        this.socket = socket;
    }

    /** Why the admin channel could not do what was asked; the message is for the operator. */
    public static final class AdminException extends RuntimeException {
        AdminException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Sends {@code request} and returns the server's answer when it says ok. */
    public JsonNode request(ObjectNode request) {
        if (!Files.exists(socket)) {
            throw new AdminException("no Castellan server is running for this data directory (" + socket
                    + " does not exist); start it with 'castellan serve'", null);
        }
        String line;
        try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            channel.write(ByteBuffer.wrap((AdminServer.JSON.writeValueAsString(request) + "\n")
                    .getBytes(StandardCharsets.UTF_8)));
            channel.shutdownOutput();
            byte[] answer = Channels.newInputStream(channel).readNBytes(MAX_ANSWER_BYTES);
            line = new String(answer, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            String why = e.getMessage() == null ? e.toString() : e.getMessage();
            throw new AdminException("cannot reach the Castellan server on " + socket + " (" + why + "); is it running"
                    + " ('castellan serve'), and are you its user?", e);
        }
        JsonNode answer;
        try {
            answer = AdminServer.JSON.readTree(line);
        } catch (IOException e) {
            throw new AdminException("the server on " + socket + " sent an answer that is not JSON", e);
        }
        if (answer == null || !answer.path("ok").asBoolean(false)) {
            throw new AdminException("the server refused: " + (answer == null ? "no answer" : answer.path("error").asText("no reason given")), null);
        }
        return answer;
    }
}
