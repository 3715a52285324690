package org.castellan.server.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.castellan.server.config.CastellanConfig;
import org.castellan.server.setup.DataDirectory;
import org.castellan.store.embedded.StoreSnapshot;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code castellan restore}: unpacks a backup made by {@code castellan backup} into a new data
 * directory and checks that the store is whole (every body file its database names is there).
 *
 * <p>SECURITY: entries are written only below the target (a name that would leave it is refused),
 * files 0600 and directories 0700.
 */
@Command(name = "restore", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Unpack a backup made by 'castellan backup' into a new (or empty) data directory,",
                "then check that every message body is there. Start a server on it with 'castellan serve --data DIR'."})
final class RestoreCommand implements Callable<Integer> {

    /** More entries than this is no backup of ours (a ZIP bomb or the wrong file). */
    static final int MAX_ENTRIES = 50_000_000;
    /** Hashes named in the message when bodies are missing; the count says how many in all. */
    private static final int SHOWN_MISSING = 5;

    @Option(names = "--from", paramLabel = "BACKUP", required = true, description = "A .zip file or a directory made by 'castellan backup'.")
    Path from;
    @Option(names = "--data", paramLabel = "DIR", required = true, description = "The data directory to create; must not exist or be empty.")
    Path data;

    @Override
    public Integer call() throws Exception {
        if (!Files.exists(from)) throw new Failures.BadInput("no backup at " + from);
        if (Files.exists(data)) {
            try (Stream<Path> entries = Files.list(data)) {
                if (entries.findAny().isPresent()) {
                    throw new Failures.BadInput(data + " is not empty; restore into a new directory, then swap it in");
                }
            }
        }
        BackupCommand.createPrivateDirectories(data.toAbsolutePath().normalize());
        Path root = data.toAbsolutePath().normalize();
        long files = Files.isDirectory(from) ? copyTree(from, root) : unzip(from, root);
        Path config = root.resolve(DataDirectory.CONFIG_FILE);
        if (!Files.isRegularFile(config)) {
            throw new Failures.BadInput(from + " holds no " + DataDirectory.CONFIG_FILE + "; is it a backup made by castellan backup?");
        }
        Path store = root.resolve(BackupCommand.STORE);
        List<String> missing = StoreSnapshot.missingBodies(store);
        if (!missing.isEmpty()) {
            System.err.println("castellan: the backup lacks " + missing.size() + " message body file(s), e.g. "
                    + String.join(", ", missing.subList(0, Math.min(SHOWN_MISSING, missing.size())))
                    + "; it is incomplete: restore another one");
            return Main.FAILURE;
        }
        CastellanConfig restored = CastellanConfig.load(config);
        if (!restored.server().dataDir().toAbsolutePath().normalize().equals(root)
                || !restored.store().directory().toAbsolutePath().normalize().equals(store)) {
            System.out.println("note: " + config + " names data-dir " + restored.server().dataDir() + " and store directory "
                    + restored.store().directory() + "; set data-dir = \".\" and [store] directory = \"mail\" to use the restored copy");
        }
        System.out.println("restored " + files + " file(s) into " + root + "; every message body is there."
                + " Start it with: castellan serve --data " + data);
        return Main.OK;
    }

    private static long unzip(Path zipFile, Path root) throws IOException {
        long count = 0;
        try (InputStream file = Files.newInputStream(zipFile); ZipInputStream zip = new ZipInputStream(file)) {
            for (ZipEntry entry; (entry = zip.getNextEntry()) != null; ) {
                if (++count > MAX_ENTRIES) throw new Failures.BadInput(zipFile + " has more than " + MAX_ENTRIES + " entries");
                Path target = root.resolve(entry.getName()).normalize();
                if (!target.startsWith(root) || target.equals(root)) {
                    throw new Failures.BadInput(zipFile + ": entry " + entry.getName() + " would be written outside " + root);
                }
                if (entry.isDirectory()) {
                    BackupCommand.createPrivateDirectories(target);
                    continue;
                }
                BackupCommand.createPrivateDirectories(target.getParent());
                Files.createFile(target, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.WRITE)) {
                    zip.transferTo(out);
                }
            }
        } catch (java.util.zip.ZipException e) {
            throw new Failures.BadInput(zipFile + " is not a readable ZIP file: " + e.getMessage());
        }
        return count;
    }

    private static long copyTree(Path from, Path root) throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(from)) {
            files = walk.filter(Files::isRegularFile).toList();
        }
        for (Path f : files) BackupCommand.copyPrivately(f, root.resolve(from.relativize(f).toString()));
        return files.size();
    }
}
