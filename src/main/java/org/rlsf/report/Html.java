package org.rlsf.report;

/** A minimal Markdown-to-HTML rendering for the report (tables, headings, lists, images, code blocks). */
final class Html {
    private Html() {
    }

    static String of(String title, String markdown) {
        StringBuilder h = new StringBuilder("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>").append(esc(title))
                .append("</title><style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
                        + "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}img{margin:4px}pre{background:#f6f6f6;padding:8px;"
                        + "overflow:auto}</style></head><body>\n");
        boolean inTable = false, inCode = false, inList = false;
        for (String line : markdown.split("\n")) {
            if (line.startsWith("```")) {
                h.append(inCode ? "</pre>\n" : "<pre>");
                inCode = !inCode;
                continue;
            }
            if (inCode) {
                h.append(esc(line)).append('\n');
                continue;
            }
            if (inTable && !line.startsWith("|")) {
                h.append("</table>\n");
                inTable = false;
            }
            if (inList && !line.startsWith("- ")) {
                h.append("</ul>\n");
                inList = false;
            }
            if (line.startsWith("|")) {
                if (line.startsWith("|---")) {
                    continue;
                }
                String[] cells = line.substring(1, line.length() - 1).split("\\|");
                String tag = inTable ? "td" : "th";
                if (!inTable) {
                    h.append("<table>\n");
                    inTable = true;
                }
                h.append("<tr>");
                for (String c : cells) {
                    h.append('<').append(tag).append('>').append(esc(c.trim())).append("</").append(tag).append('>');
                }
                h.append("</tr>\n");
            } else if (line.startsWith("# ")) {
                h.append("<h1>").append(esc(line.substring(2))).append("</h1>\n");
            } else if (line.startsWith("## ")) {
                h.append("<h2>").append(esc(line.substring(3))).append("</h2>\n");
            } else if (line.startsWith("- ")) {
                if (!inList) {
                    h.append("<ul>\n");
                    inList = true;
                }
                h.append("<li>").append(esc(line.substring(2))).append("</li>\n");
            } else if (line.startsWith("![")) {
                for (String img : line.split("\\) ?")) {
                    int a = img.indexOf("](");
                    if (a > 0) {
                        h.append("<img src=\"").append(esc(img.substring(a + 2))).append("\" alt=\"")
                                .append(esc(img.substring(2, a))).append("\">");
                    }
                }
                h.append('\n');
            } else if (!line.isBlank()) {
                h.append("<p>").append(esc(line)).append("</p>\n");
            }
        }
        if (inTable) {
            h.append("</table>\n");
        }
        return h.append("</body></html>\n").toString();
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
