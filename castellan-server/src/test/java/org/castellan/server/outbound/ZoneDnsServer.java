package org.castellan.server.outbound;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;

/**
 * An authoritative DNS server on a loopback UDP port that answers from a fixed set of records, so
 * that MX routing runs through the real resolver. A name it has no records for at all is
 * NXDOMAIN; a name with records of other types gets an empty answer (NODATA).
 */
final class ZoneDnsServer implements AutoCloseable {

    /** RFC 1035 §4.2.1: UDP messages are at most 512 octets without EDNS; ours are small. */
    private static final int MAX_UDP = 4096;

    private final DatagramSocket socket;
    private final Map<Name, List<Record>> zone;

    ZoneDnsServer(Map<Name, List<Record>> zone) throws IOException {
        this.zone = Map.copyOf(zone);
        socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Thread.ofVirtual().start(this::serve);
    }

    InetSocketAddress address() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    private void serve() {
        byte[] buffer = new byte[MAX_UDP];
        while (!socket.isClosed()) {
            try {
                DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
                socket.receive(packet);
                Message query = new Message(java.util.Arrays.copyOf(packet.getData(), packet.getLength()));
                Message answer = new Message(query.getHeader().getID());
                answer.getHeader().setFlag(Flags.QR);
                answer.getHeader().setFlag(Flags.AA);
                if (query.getHeader().getFlag(Flags.RD)) answer.getHeader().setFlag(Flags.RD);
                answer.getHeader().setFlag(Flags.RA);
                Record question = query.getQuestion();
                answer.addRecord(question, Section.QUESTION);
                List<Record> records = zone.get(question.getName());
                if (records == null) {
                    answer.getHeader().setRcode(Rcode.NXDOMAIN);
                } else {
                    records.stream().filter(r -> r.getType() == question.getType()).forEach(r -> answer.addRecord(r, Section.ANSWER));
                }
                byte[] wire = answer.toWire(MAX_UDP);
                socket.send(new DatagramPacket(wire, wire.length, packet.getSocketAddress()));
            } catch (IOException e) {
                if (socket.isClosed()) return;
            }
        }
    }

    @Override
    public void close() {
        socket.close();
    }
}
