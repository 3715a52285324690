package org.castellan.store.migrate;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Messages are read a page at a time ({@link MessageRecord#pages}): every UID above the start,
 * once, in order, whatever the mailbox's size against the page, and no page asked for after a
 * short one but the last.
 */
class MessageRecordTest {

    @ParameterizedTest
    @ValueSource(ints = {0, 1, MessageRecord.PAGE - 1, MessageRecord.PAGE, MessageRecord.PAGE + 1, 2 * MessageRecord.PAGE,
            5 * MessageRecord.PAGE + 7})
    void pagesGiveEveryMessageAboveTheStartOnceInOrder(int size) {
        // UIDs with gaps, as expunges leave them: 3, 6, 9, ...
        List<MessageRecord> mailbox = LongStream.rangeClosed(1, size).mapToObj(i -> message(3 * i)).toList();
        List<Long> asked = new ArrayList<>();
        List<Long> read = MessageRecord.pages(0, after -> {
            asked.add(after);
            return mailbox.stream().filter(m -> m.uid() > after).limit(MessageRecord.PAGE).toList();
        }).map(MessageRecord::uid).toList();

        assertThat(read).containsExactlyElementsOf(mailbox.stream().map(MessageRecord::uid).toList());
        assertThat(asked).as("pages asked for").hasSizeLessThanOrEqualTo(size / MessageRecord.PAGE + 2).doesNotHaveDuplicates();
    }

    @ParameterizedTest
    @ValueSource(longs = {0, 2, 3, 299, 300, 3000})
    void pagesStartAfterTheUidGiven(long after) {
        List<MessageRecord> mailbox = LongStream.rangeClosed(1, 1000).mapToObj(i -> message(3 * i)).toList();
        List<Long> read = MessageRecord.pages(after, a -> mailbox.stream().filter(m -> m.uid() > a).limit(MessageRecord.PAGE)
                .toList()).map(MessageRecord::uid).toList();
        assertThat(read).containsExactlyElementsOf(mailbox.stream().map(MessageRecord::uid).filter(u -> u > after).toList());
    }

    private static MessageRecord message(long uid) {
        return new MessageRecord(uid, uid + 1, "\\Seen", Instant.EPOCH, 100, "00".repeat(32), null);
    }
}
