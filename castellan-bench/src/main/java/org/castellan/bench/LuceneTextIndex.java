package org.castellan.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.ngram.NGramTokenizer;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.FieldType;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.index.DocValues;
import org.apache.lucene.index.IndexOptions;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause.Occur;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.Collector;
import org.apache.lucene.search.CollectorManager;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.LeafCollector;
import org.apache.lucene.search.PhraseQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.Scorable;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.SearcherManager;
import org.apache.lucene.store.FSDirectory;
import org.castellan.protocol.imap.SearchText;

/**
 * The store's text index rebuilt on Lucene, for {@link TextIndexBench}: the same documents (one
 * per message, header and body, folded by {@link SearchText#fold}), the same id
 * ({@code mailbox << 32 | uid}) and the same substring semantics. Each field is cut into
 * overlapping trigrams of code points ({@code NGramTokenizer(3, 3)}, one position each), and a
 * search asks for the needle's trigrams as a phrase at consecutive positions, which matches exactly
 * where the folded text contains the folded needle, as SQLite's trigram tokenizer does.
 *
 * <p>Only what the comparison needs: add, refresh (searchable), commit (durable), search, size.
 */
final class LuceneTextIndex implements AutoCloseable {

    private static final long MAX_UID = 0xFFFF_FFFFL;
    private static final FieldType TRIGRAMS = new FieldType();

    static {
        // Positions for the phrase; no norms, scores, stored text or term vectors.
        TRIGRAMS.setIndexOptions(IndexOptions.DOCS_AND_FREQS_AND_POSITIONS);
        TRIGRAMS.setTokenized(true);
        TRIGRAMS.setOmitNorms(true);
        TRIGRAMS.freeze();
    }

    private final Path path;
    private final FSDirectory directory;
    private final IndexWriter writer;
    private final SearcherManager searchers;

    LuceneTextIndex(Path path) throws IOException {
        this.path = path;
        this.directory = FSDirectory.open(path);
        Analyzer trigrams = new Analyzer() {
            @Override
            protected TokenStreamComponents createComponents(String field) {
                return new TokenStreamComponents(new NGramTokenizer(3, 3));
            }
        };
        IndexWriterConfig config = new IndexWriterConfig(trigrams).setRAMBufferSizeMB(32);
        this.writer = new IndexWriter(directory, config);
        this.searchers = new SearcherManager(writer, null);
    }

    static long docId(long mailbox, long uid) {
        return mailbox << 32 | uid;
    }

    /** Adds one message's folded text; searchable after {@link #refresh}, durable after {@link #commit}. */
    void add(long mailbox, long uid, String foldedHeader, String foldedBody) throws IOException {
        Document doc = new Document();
        long id = docId(mailbox, uid);
        doc.add(new LongPoint("id", id));
        doc.add(new NumericDocValuesField("id", id));
        doc.add(new Field("header", foldedHeader, TRIGRAMS));
        doc.add(new Field("body", foldedBody, TRIGRAMS));
        writer.addDocument(doc);
    }

    void refresh() throws IOException {
        searchers.maybeRefreshBlocking();
    }

    void commit() throws IOException {
        writer.commit();
    }

    /** Merges every segment into one and commits: the smallest the index gets. */
    void forceMerge() throws IOException {
        writer.forceMerge(1);
        writer.commit();
        // The searchers' reader still holds the old segments, and their files stay until it goes.
        searchers.maybeRefreshBlocking();
        writer.deleteUnusedFiles();
    }

    /** Bytes of the index's files on disk. */
    long size() throws IOException {
        try (Stream<Path> files = Files.list(path)) {
            long total = 0;
            for (Path f : files.toList()) total += Files.size(f);
            return total;
        }
    }

    /**
     * UIDs up to {@code mark} in {@code mailbox} whose body (or header or body) contains {@code needle}
     * after folding; the needle must have at least 3 code points.
     */
    SortedSet<Long> search(long mailbox, boolean bodyOnly, String needle, long mark) throws IOException {
        String folded = SearchText.fold(needle);
        Query text = bodyOnly ? phrase("body", folded) : new BooleanQuery.Builder()
                .add(phrase("header", folded), Occur.SHOULD)
                .add(phrase("body", folded), Occur.SHOULD)
                .build();
        Query query = new BooleanQuery.Builder()
                .add(text, Occur.MUST)
                .add(LongPoint.newRangeQuery("id", docId(mailbox, 1), docId(mailbox, mark)), Occur.FILTER)
                .build();
        IndexSearcher searcher = searchers.acquire();
        try {
            return searcher.search(query, new UidCollectors());
        } finally {
            searchers.release(searcher);
        }
    }

    private static Query phrase(String field, String folded) {
        int[] cps = folded.codePoints().toArray();
        if (cps.length < 3) throw new IllegalArgumentException("trigrams cannot find fewer than 3 characters");
        PhraseQuery.Builder b = new PhraseQuery.Builder();
        for (int i = 0; i + 3 <= cps.length; i++) b.add(new Term(field, new String(cps, i, 3)), i);
        return b.build();
    }

    /** Collects the UIDs of every matching document, unscored. */
    private static final class UidCollector implements Collector {
        final List<Long> uids = new ArrayList<>();

        @Override
        public LeafCollector getLeafCollector(LeafReaderContext context) throws IOException {
            NumericDocValues ids = DocValues.getNumeric(context.reader(), "id");
            return new LeafCollector() {
                @Override
                public void setScorer(Scorable scorer) {}

                @Override
                public void collect(int doc) throws IOException {
                    if (ids.advanceExact(doc)) uids.add(ids.longValue() & MAX_UID);
                }
            };
        }

        @Override
        public ScoreMode scoreMode() {
            return ScoreMode.COMPLETE_NO_SCORES;
        }
    }

    private static final class UidCollectors implements CollectorManager<UidCollector, SortedSet<Long>> {
        @Override
        public UidCollector newCollector() {
            return new UidCollector();
        }

        @Override
        public SortedSet<Long> reduce(Collection<UidCollector> collectors) {
            SortedSet<Long> all = new TreeSet<>();
            for (UidCollector c : collectors) all.addAll(c.uids);
            return all;
        }
    }

    @Override
    public void close() throws IOException {
        searchers.close();
        writer.close();
        directory.close();
    }
}
