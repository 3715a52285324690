package org.castellan.security.pki.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import org.castellan.security.pki.PkiException;

/**
 * What identifies the current content of a file the CA rewrites: its inode (the CA replaces
 * files by rename, so new content is a new inode), modification time and size. One {@code stat}.
 */
public final class FileStamp {

    private FileStamp() {}

    /** The stamp of {@code file}; equal stamps mean unchanged content. */
    public static List<Object> of(Path file) {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            return List.of(String.valueOf(a.fileKey()), a.lastModifiedTime(), a.size());
        } catch (NoSuchFileException e) {
            return List.of("missing");
        } catch (IOException e) {
            throw new PkiException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
