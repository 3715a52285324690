package org.castellan.server.dns;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Arrays;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/**
 * A DNS server on a loopback port (UDP and TCP) that answers as a broken or hostile one would,
 * chosen by the first label of the question:
 *
 * <ul>
 *   <li>{@code malformed}: a header promising five answers, then a few stray octets;
 *   <li>{@code short}: three octets;
 *   <li>{@code truncated}: TC over UDP, and over TCP a connection closed without an answer;
 *   <li>{@code fallback}: TC over UDP, the answer (A 192.0.2.53) over TCP;
 *   <li>{@code loop} and {@code loop2}: each a CNAME to the other, one per answer;
 *   <li>{@code pingpong}: both of those CNAMEs in one answer;
 *   <li>{@code chainN}: a CNAME to {@code chainN+1}, for ever;
 *   <li>{@code bigtxt}: TC over UDP, 60 KB of TXT records over TCP;
 *   <li>{@code wrongquestion}: an answer to a question about another name;
 *   <li>{@code silent}: nothing at all;
 *   <li>{@code wrongid}: an answer with another message ID (RFC 5452 §4.3);
 *   <li>{@code servfail}: SERVFAIL;
 *   <li>{@code mxloop}: MX 10 loop.hostile.test;
 *   <li>anything else: A 192.0.2.53 (MX 10 fallback.hostile.test for MX), with no signatures.
 * </ul>
 */
final class HostileDnsServer implements AutoCloseable {

    /** A TXT set of about 60 KB: 235 records of 255 octets, within the 64 KB of a TCP message. */
    private static final int BIG_TXT_RECORDS = 235;
    private static final int TXT_STRING = 255; // RFC 1035 §3.3: a character-string's longest

    private final DatagramSocket udp;
    private final ServerSocket tcp;

    HostileDnsServer() throws IOException {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        DatagramSocket u = null;
        ServerSocket t = null;
        for (int attempt = 0; t == null; attempt++) {
            u = new DatagramSocket(new InetSocketAddress(loopback, 0));
            try {
                t = new ServerSocket(u.getLocalPort(), 16, loopback);
            } catch (IOException e) {
                u.close();
                if (attempt > 20) throw e;
            }
        }
        udp = u;
        tcp = t;
        Thread.ofPlatform().daemon().name("hostile-dns-udp").start(this::serveUdp);
        Thread.ofPlatform().daemon().name("hostile-dns-tcp").start(this::serveTcp);
    }

    InetSocketAddress address() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), udp.getLocalPort());
    }

    private void serveUdp() {
        byte[] buffer = new byte[65_535];
        while (!udp.isClosed()) {
            DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
            try {
                udp.receive(packet);
                byte[] reply = answer(Arrays.copyOf(packet.getData(), packet.getLength()), false);
                if (reply != null) {
                    udp.send(new DatagramPacket(reply, reply.length, packet.getSocketAddress()));
                }
            } catch (SocketException e) {
                return; // closed
            } catch (IOException e) {
                // a client gone away; serve the next
            }
        }
    }

    private void serveTcp() {
        while (!tcp.isClosed()) {
            try {
                Socket socket = tcp.accept();
                Thread.ofVirtual().start(() -> serveConnection(socket));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serveConnection(Socket socket) {
        try (socket) {
            DataInputStream in = new DataInputStream(socket.getInputStream());
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            while (true) {
                byte[] query = new byte[in.readUnsignedShort()]; // RFC 1035 §4.2.2: a two-octet length first
                in.readFully(query);
                byte[] reply = answer(query, true);
                if (reply == null) {
                    continue; // silent: hold the connection until the client gives up
                }
                if (reply.length == 0) {
                    return; // truncated: close without an answer
                }
                out.writeShort(reply.length);
                out.write(reply);
                out.flush();
            }
        } catch (IOException e) {
            // the client closed the connection
        }
    }

    /** The reply to {@code query}: null for none, empty to close a TCP connection. */
    private static byte[] answer(byte[] query, boolean overTcp) throws IOException {
        Message request = new Message(query);
        Record question = request.getQuestion();
        Name name = question.getName();
        String label = name.getLabelString(0);
        Message reply = new Message(request.getHeader().getID());
        reply.getHeader().setFlag(Flags.QR);
        reply.getHeader().setFlag(Flags.RA);
        reply.addRecord(question, Section.QUESTION);
        switch (label) {
            case "malformed" -> {
                byte[] header = Arrays.copyOf(query, 12);
                header[2] |= (byte) 0x80; // QR
                header[7] = 5; // ANCOUNT 5
                byte[] bytes = Arrays.copyOf(header, 17);
                bytes[12] = (byte) 0xC0;
                bytes[13] = (byte) 0xFF; // a compression pointer past the end
                return bytes;
            }
            case "short" -> {
                return new byte[] {query[0], query[1], (byte) 0x80};
            }
            case "silent" -> {
                return null;
            }
            case "wrongid" -> {
                reply.getHeader().setID((request.getHeader().getID() + 1) & 0xFFFF); // a blind spoofer's guess
                reply.addRecord(address(name), Section.ANSWER);
            }
            case "truncated" -> {
                if (overTcp) return new byte[0];
                reply.getHeader().setFlag(Flags.TC);
            }
            case "fallback" -> {
                if (overTcp) reply.addRecord(address(name), Section.ANSWER);
                else reply.getHeader().setFlag(Flags.TC);
            }
            case "bigtxt" -> {
                if (!overTcp) {
                    reply.getHeader().setFlag(Flags.TC);
                } else {
                    for (int i = 0; i < BIG_TXT_RECORDS; i++) {
                        String text = String.format("%03d", i) + "x".repeat(TXT_STRING - 3);
                        reply.addRecord(new TXTRecord(name, DClass.IN, 60, text), Section.ANSWER);
                    }
                }
            }
            case "loop" -> reply.addRecord(cname(name, "loop2"), Section.ANSWER);
            case "loop2" -> reply.addRecord(cname(name, "loop"), Section.ANSWER);
            case "pingpong" -> {
                reply.addRecord(cname(name, "pingpong2"), Section.ANSWER);
                reply.addRecord(new CNAMERecord(sibling(name, "pingpong2"), DClass.IN, 60, name), Section.ANSWER);
            }
            case "wrongquestion" -> {
                reply.removeAllRecords(Section.QUESTION);
                Name other = sibling(name, "other");
                reply.addRecord(Record.newRecord(other, question.getType(), DClass.IN), Section.QUESTION);
                reply.addRecord(address(other), Section.ANSWER);
            }
            case "servfail" -> reply.getHeader().setRcode(Rcode.SERVFAIL);
            case "mxloop" -> {
                if (question.getType() == Type.MX) {
                    reply.addRecord(new MXRecord(name, DClass.IN, 60, 10, sibling(name, "loop")), Section.ANSWER);
                }
            }
            default -> {
                if (label.startsWith("chain")) {
                    int n = Integer.parseInt(label.substring(5));
                    reply.addRecord(cname(name, "chain" + (n + 1)), Section.ANSWER);
                } else if (question.getType() == Type.A) {
                    reply.addRecord(address(name), Section.ANSWER);
                } else if (question.getType() == Type.MX) {
                    reply.addRecord(new MXRecord(name, DClass.IN, 60, 10, sibling(name, "fallback")), Section.ANSWER);
                }
            }
        }
        return reply.toWire();
    }

    private static Record address(Name name) throws IOException {
        return new ARecord(name, DClass.IN, 60, InetAddress.getByAddress(new byte[] {(byte) 192, 0, 2, 53}));
    }

    private static CNAMERecord cname(Name name, String targetLabel) throws IOException {
        return new CNAMERecord(name, DClass.IN, 60, sibling(name, targetLabel));
    }

    /** {@code label} in place of the first label of {@code name}. */
    private static Name sibling(Name name, String label) throws IOException {
        return Name.concatenate(Name.fromString(label), new Name(name, 1));
    }

    @Override
    public void close() {
        udp.close();
        try {
            tcp.close();
        } catch (IOException e) {
            // closing anyway
        }
    }
}
