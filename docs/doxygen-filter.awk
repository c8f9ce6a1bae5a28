# doxygen-filter.awk -- let Doxygen read tapegrad's plain C comments as documentation
# (docs/Doxyfile's INPUT_FILTER; the headers themselves stay plain C).
#   - the file's opening comment becomes its \file documentation;
#   - a comment that opens a line documents what follows ("/* x" -> "/** x"), except section
#     rules ("/* ---- hooks ----"), which stay plain;
#   - a comment after code documents that member ("int rank; /* x" -> "int rank; /**< x");
#   - inside comments \ @ < > & are escaped, so "<name>.csv" or "a & b" show as written;
#   - `#include "ops.def"` is replaced by that file (Doxygen does not inline includes), so that
#     TG_OP (EXPAND_AS_DEFINED) declares every built-in op's tg_op_<name> and TG_OPID_<name>.
function esc(s) {
    # in a gsub replacement "\\\\" gives one backslash and "\\\\&" a backslash + the match
    gsub(/\\/, "\\\\\\\\", s)
    gsub(/@/, "\\@", s)
    gsub(/</, "\\<", s)
    gsub(/>/, "\\>", s)
    gsub(/&/, "\\\\&", s)
    return s
}

/^#include "ops\.def"/ {
    def = FILENAME
    sub(/[^\/]*$/, "ops.def", def)
    while ((getline l < def) > 0)
        print l
    close(def)
    next
}

{
    line = $0
    out = ""
    while (line != "") {
        if (incomment) {
            e = index(line, "*/")
            if (e == 0) {
                out = out esc(line)
                line = ""
            } else {
                out = out esc(substr(line, 1, e - 1)) "*/"
                line = substr(line, e + 2)
                incomment = 0
            }
        } else {
            s = index(line, "/*")
            if (s == 0) {
                out = out line
                line = ""
                continue
            }
            pre = substr(line, 1, s - 1)
            rest = substr(line, s + 2)
            if (pre !~ /^[ \t]*$/)
                opener = "/**<"
            else if (!seen_header && rest == "")
                opener = "/** \\file"
            else if (rest ~ /^ *----/ || rest ~ /^\*/)
                opener = "/*"
            else
                opener = "/**"
            seen_header = 1
            incomment = 1
            out = out pre opener
            line = rest
        }
    }
    print out
}
