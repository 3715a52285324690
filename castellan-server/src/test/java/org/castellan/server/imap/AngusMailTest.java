package org.castellan.server.imap;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.mail.Flags;
import jakarta.mail.Folder;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.Multipart;
import jakarta.mail.Session;
import jakarta.mail.Store;
import jakarta.mail.event.MessageCountAdapter;
import jakarta.mail.event.MessageCountEvent;
import jakarta.mail.internet.MimeMessage;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.angus.mail.imap.IMAPFolder;
import org.junit.jupiter.api.Test;

/** Angus Mail (Jakarta Mail) IMAPStore over imaps: folders, envelope, structure, flags, UIDs, move, IDLE. */
class AngusMailTest extends ServerPerTest {

    @Test
    void idleHearsAMessageDeliveredMeanwhile() throws Exception {
        Store store = imap.angusSession().getStore("imaps");
        store.connect("localhost", imap.port("imaps"), ImapTestServer.USER, ImapTestServer.PASSWORD);
        try {
            IMAPFolder inbox = (IMAPFolder) store.getFolder("INBOX");
            inbox.open(Folder.READ_ONLY);
            assertThat(inbox.getMessageCount()).isEqualTo(2);
            CompletableFuture<String> added = new CompletableFuture<>();
            inbox.addMessageCountListener(new MessageCountAdapter() {
                @Override
                public void messagesAdded(MessageCountEvent e) {
                    try {
                        added.complete(e.getMessages()[0].getSubject());
                    } catch (MessagingException failed) {
                        added.completeExceptionally(failed);
                    }
                }
            });
            java.lang.Thread idler = java.lang.Thread.ofVirtual().start(() -> {
                try {
                    inbox.idle(true);
                } catch (MessagingException e) {
                    added.completeExceptionally(e);
                }
            });
            // Delivered while the client idles (or, if IDLE is not out yet, reported as it starts: RFC 2177).
            imap.append("From: erin@example.net\r\nSubject: while idle\r\n\r\nhi\r\n");
            assertThat(added.get(30, TimeUnit.SECONDS)).isEqualTo("while idle");
            assertThat(inbox.getMessageCount()).isEqualTo(3);
            idler.join(Duration.ofSeconds(30));
            assertThat(idler.isAlive()).isFalse();
        } finally {
            store.close();
        }
    }

    @Test
    void readsFlagsAndMoves() throws Exception {
        Session session = imap.angusSession();
        Store store = session.getStore("imaps");
        store.connect("localhost", imap.port("imaps"), ImapTestServer.USER, ImapTestServer.PASSWORD);
        try {
            assertThat(Arrays.stream(store.getDefaultFolder().list()).map(Folder::getName))
                    .contains("INBOX", "Sent", "Trash", "Archive");
            IMAPFolder inbox = (IMAPFolder) store.getFolder("INBOX");
            inbox.open(Folder.READ_WRITE);
            assertThat(inbox.getMessageCount()).isEqualTo(2);
            Message first = inbox.getMessage(1);
            assertThat(first.getSubject()).isEqualTo("one");
            assertThat(first.getReceivedDate()).isNotNull();
            assertThat(first.getFrom()[0].toString()).isEqualTo("Carol <carol@example.net>");
            assertThat(inbox.getUID(first)).isEqualTo(firstUid);
            Message second = inbox.getMessage(2);
            Multipart mp = (Multipart) second.getContent();
            assertThat(mp.getCount()).isEqualTo(2);
            assertThat(mp.getBodyPart(0).getContent()).isEqualTo("part one");
            second.setFlag(Flags.Flag.FLAGGED, true);
            assertThat(inbox.search(new jakarta.mail.search.FlagTerm(new Flags(Flags.Flag.FLAGGED), true))).hasSize(1);
            inbox.moveMessages(new Message[] {first}, store.getFolder("Archive"));
            MimeMessage appended = new MimeMessage(session);
            appended.setSubject("from jakarta");
            appended.setText("hello");
            inbox.appendMessages(new Message[] {appended});
            inbox.close(false);
            Folder archive = store.getFolder("Archive");
            archive.open(Folder.READ_ONLY);
            assertThat(archive.getMessage(1).getSubject()).isEqualTo("one");
            archive.close(false);
        } finally {
            store.close();
        }
        assertThat(imap.store().status(imap.inbox).messages()).isEqualTo(2);
    }
}
