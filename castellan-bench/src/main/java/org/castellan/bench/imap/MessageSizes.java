package org.castellan.bench.imap;

import java.util.concurrent.ThreadLocalRandom;

/**
 * The sizes of the messages a benchmark fills and APPENDs: one fixed size, or {@code mix}, a
 * mailbox as people have them — mostly short text, some HTML, a few attachments up to 400 KB.
 */
public record MessageSizes(String name, int fixed) {

    /** {@code mix}: share of messages and their size range in bytes, [from, to). */
    private static final int[][] MIX = {
        {50, 2 * 1024, 8 * 1024},
        {30, 8 * 1024, 64 * 1024},
        {15, 64 * 1024, 200 * 1024},
        {5, 200 * 1024, 400 * 1000},
    };

    public static MessageSizes parse(String text) {
        if (text.equals("mix")) return new MessageSizes("mix (50% 2-8 KB, 30% 8-64 KB, 15% 64-200 KB, 5% 200-400 KB)", 0);
        int n = Integer.parseInt(text);
        return new MessageSizes(n + " bytes", n);
    }

    /** The size of the next message. */
    public int next() {
        if (fixed > 0) return fixed;
        ThreadLocalRandom r = ThreadLocalRandom.current();
        int pick = r.nextInt(100);
        for (int[] band : MIX) {
            if (pick < band[0]) return r.nextInt(band[1], band[2]);
            pick -= band[0];
        }
        throw new IllegalStateException("shares add up to 100");
    }
}
