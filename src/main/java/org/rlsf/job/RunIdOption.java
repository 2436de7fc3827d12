package org.rlsf.job;

import org.rlsf.config.RunIds;
import picocli.CommandLine;

/** {@code --run-id} values: checked by {@link RunIds} while the command line is parsed, before any work starts. */
final class RunIdOption implements CommandLine.ITypeConverter<String> {
    @Override
    public String convert(String value) {
        try {
            return RunIds.check(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
