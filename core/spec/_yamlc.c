/* Spec YAML with positions, read in C from libyaml's event stream.
 *
 * parse(text) returns, for every non-empty document of `text`, a tuple
 *     (index, value, keys, values, named, text, start)
 * equal to the fields of the ParsedDocument that core.spec.yamllib._parse_events builds for the same
 * text: plain dicts, lists and scalars, and (line, col) positions, 1-based, from libyaml's marks.
 * It returns None whenever it cannot be sure of that result: a syntax or reader error (the Python
 * reader reports it with its message), anchors, aliases, tags, a mapping or list as a key, a plain
 * scalar that core.spec.yamltypes.typed does not construct itself (it raises Unusual), nesting
 * deeper than MAX_DEPTH or more than MAX_NODES values in a document, or text that is not UTF-8
 * encodable. Plain scalars that could be typed (their first character is one of TYPED_START, or
 * they are empty) go through core.spec.yamltypes.typed; every other scalar is its text.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <yaml.h>
#include <stdint.h>

#define MAX_DEPTH 200      /* core.spec.yamlpos.MAX_DEPTH */
#define MAX_NODES 200000   /* core.spec.yamlpos.MAX_NODES */
#define TYPED_START "yYnNtTfFoO-+0123456789.~<="

/* Outcome of a step: OK, a Python error is set (FAILED), or the Python reader must read the
 * stream (UNSURE). */
enum { OK = 0, FAILED = -1, UNSURE = 1 };

static PyObject *typed_func;    /* core.spec.yamltypes.typed, imported on first use */
static PyObject *unusual_type;  /* core.spec.yamltypes.Unusual */

/* ------------------------------------------------------------------ strings */

typedef struct {
    PyObject *str;      /* a str, or NULL for `ascii` */
    const char *ascii;
    Py_ssize_t len;     /* of `ascii` */
} part_t;

/* The concatenation of `parts`, as a new str. */
static PyObject *
join_parts(const part_t *parts, int n)
{
    Py_ssize_t total = 0;
    Py_UCS4 maxchar = 127;
    for (int i = 0; i < n; i++) {
        if (parts[i].str) {
            total += PyUnicode_GET_LENGTH(parts[i].str);
            Py_UCS4 top = PyUnicode_MAX_CHAR_VALUE(parts[i].str);
            if (top > maxchar)
                maxchar = top;
        } else {
            total += parts[i].len;
        }
    }
    PyObject *result = PyUnicode_New(total, maxchar);
    if (!result)
        return NULL;
    int kind = PyUnicode_KIND(result);
    void *data = PyUnicode_DATA(result);
    Py_ssize_t at = 0;
    if (kind == PyUnicode_1BYTE_KIND) {  /* every part is one byte a character too */
        for (int i = 0; i < n; i++) {
            Py_ssize_t len = parts[i].str ? PyUnicode_GET_LENGTH(parts[i].str) : parts[i].len;
            memcpy((char *)data + at, parts[i].str ? PyUnicode_DATA(parts[i].str) : parts[i].ascii, len);
            at += len;
        }
        return result;
    }
    for (int i = 0; i < n; i++) {
        if (parts[i].str) {
            Py_ssize_t len = PyUnicode_GET_LENGTH(parts[i].str);
            if (PyUnicode_CopyCharacters(result, at, parts[i].str, 0, len) < 0) {
                Py_DECREF(result);
                return NULL;
            }
            at += len;
        } else {
            for (Py_ssize_t j = 0; j < parts[i].len; j++)
                PyUnicode_WRITE(kind, data, at + j, (Py_UCS4)(unsigned char)parts[i].ascii[j]);
            at += parts[i].len;
        }
    }
    return result;
}

/* Whether `text` matches yamlpos._PLAIN_KEY, ^[A-Za-z_][A-Za-z0-9_\-]*$ (whose `$` also matches
 * before a final newline). */
static int
is_plain_key(PyObject *text)
{
    Py_ssize_t len = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    if (len >= 2 && PyUnicode_READ(kind, data, len - 1) == '\n')
        len--;
    if (len == 0)
        return 0;
    for (Py_ssize_t i = 0; i < len; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        int letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
        if (!(letter || (i > 0 && ((c >= '0' && c <= '9') || c == '-'))))
            return 0;
    }
    return 1;
}

/* yamlpos.child_name: `parent.key`, or `parent["key"]` for keys that are not plain names. */
static PyObject *
child_name(PyObject *parent, PyObject *key)
{
    PyObject *text = PyUnicode_CheckExact(key) ? Py_NewRef(key) : PyObject_Str(key);
    if (!text)
        return NULL;
    PyObject *name;
    if (is_plain_key(text)) {
        if (PyUnicode_GET_LENGTH(parent) == 0)
            return text;
        part_t parts[] = {{parent, NULL, 0}, {NULL, ".", 1}, {text, NULL, 0}};
        name = join_parts(parts, 3);
    } else {
        part_t parts[] = {{parent, NULL, 0}, {NULL, "[\"", 2}, {text, NULL, 0}, {NULL, "\"]", 2}};
        name = join_parts(parts, 4);
    }
    Py_DECREF(text);
    return name;
}

/* `parent[i]`. */
static PyObject *
item_name(PyObject *parent, Py_ssize_t i)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "[%zd]", i);
    part_t parts[] = {{parent, NULL, 0}, {NULL, digits, len}};
    return join_parts(parts, 2);
}

/* ------------------------------------------------------------------ lines of the text */

/* Where the lines of the text start, as str.splitlines(keepends=True) cuts them, found on demand. */
typedef struct {
    PyObject *text;
    int kind;
    const void *data;
    Py_ssize_t length;
    Py_ssize_t *starts;   /* starts[k]: offset after the k-th line break (starts[0] = 0) */
    Py_ssize_t count, capacity;
    Py_ssize_t scanned;   /* offset up to which line breaks are known */
} lines_t;

/* Offset where line `k` (0-based) starts, or the text's length past its last line; -1: no memory. */
static Py_ssize_t
line_start(lines_t *lines, size_t k)
{
    while ((size_t)lines->count < k && lines->scanned < lines->length) {
        Py_ssize_t i = lines->scanned, next = -1;
        if (lines->kind == PyUnicode_1BYTE_KIND) {  /* skip what cannot break a line, fast */
            const Py_UCS1 *chars = lines->data;
            for (; i + 8 <= lines->length; i += 8) {  /* 8 at a time: none below 0x1f, none 0x85 */
                uint64_t w, nel;
                memcpy(&w, chars + i, 8);
                nel = w ^ 0x8585858585858585ULL;
                if ((((w - 0x1f1f1f1f1f1f1f1fULL) & ~w) | ((nel - 0x0101010101010101ULL) & ~nel))
                    & 0x8080808080808080ULL)
                    break;
            }
            while (i < lines->length && chars[i] > 0x1e && chars[i] != 0x85)
                i++;
        }
        for (; i < lines->length; i++) {
            Py_UCS4 c = PyUnicode_READ(lines->kind, lines->data, i);
            if ((c > 0x1e && c != 0x85 && c < 0x2028) || !Py_UNICODE_ISLINEBREAK(c))
                continue;
            next = i + 1;
            if (c == '\r' && next < lines->length && PyUnicode_READ(lines->kind, lines->data, next) == '\n')
                next++;
            break;
        }
        if (next < 0) {
            lines->scanned = lines->length;
            break;
        }
        if (lines->count == lines->capacity) {
            Py_ssize_t capacity = lines->capacity ? lines->capacity * 2 : 64;
            Py_ssize_t *starts = PyMem_Realloc(lines->starts, capacity * sizeof *starts);
            if (!starts) {
                PyErr_NoMemory();
                return -1;
            }
            lines->starts = starts;
            lines->capacity = capacity;
        }
        lines->starts[lines->count++] = next;
        lines->scanned = next;
    }
    if (k == 0)
        return 0;
    return (size_t)lines->count >= k ? lines->starts[k - 1] : lines->length;
}

/* yamllib._doc_text: the lines from the root node's first line through its end mark. */
static PyObject *
document_text(lines_t *lines, yaml_mark_t start, yaml_mark_t end)
{
    size_t end_line = end.line + (end.column ? 1 : 0);
    if (end_line < start.line + 1)
        end_line = start.line + 1;
    Py_ssize_t from = line_start(lines, start.line);
    Py_ssize_t to = from < 0 ? -1 : line_start(lines, end_line);
    if (to < 0)
        return NULL;
    return PyUnicode_Substring(lines->text, from, to);
}

/* ------------------------------------------------------------------ values */

static PyObject *
position(yaml_mark_t mark)
{
    PyObject *pos = PyTuple_New(2);
    PyObject *line = pos ? PyLong_FromSize_t(mark.line + 1) : NULL;
    PyObject *column = line ? PyLong_FromSize_t(mark.column + 1) : NULL;
    if (!column) {
        Py_XDECREF(pos);
        Py_XDECREF(line);
        return NULL;
    }
    PyTuple_SET_ITEM(pos, 0, line);
    PyTuple_SET_ITEM(pos, 1, column);
    return pos;
}

/* `path + (item,)`. */
static PyObject *
extended(PyObject *path, PyObject *item)
{
    Py_ssize_t n = PyTuple_GET_SIZE(path);
    PyObject *result = PyTuple_New(n + 1);
    if (!result)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++)
        PyTuple_SET_ITEM(result, i, Py_NewRef(PyTuple_GET_ITEM(path, i)));
    PyTuple_SET_ITEM(result, n, Py_NewRef(item));
    return result;
}

static int
load_typed(void)
{
    if (typed_func)
        return OK;
    PyObject *module = PyImport_ImportModule("core.spec.yamltypes");
    if (!module)
        return FAILED;
    PyObject *typed = PyObject_GetAttrString(module, "typed");
    PyObject *unusual = typed ? PyObject_GetAttrString(module, "Unusual") : NULL;
    Py_DECREF(module);
    if (!unusual) {
        Py_XDECREF(typed);
        return FAILED;
    }
    typed_func = typed;
    unusual_type = unusual;
    return OK;
}

/* True for YAML 1.1's plain decimal integers: [-+]?(0|[1-9][0-9]*), short enough for a C long. */
static int
is_decimal(const char *bytes, size_t len)
{
    size_t i = (bytes[0] == '-' || bytes[0] == '+') ? 1 : 0;
    if (i == len || len - i > 18 || (bytes[i] == '0' && len - i > 1))
        return 0;
    for (; i < len; i++)
        if (bytes[i] < '0' || bytes[i] > '9')
            return 0;
    return 1;
}

/* The value of an untagged scalar event, into *out (a new reference). */
static int
scalar_value(const yaml_event_t *ev, PyObject **out)
{
    const char *bytes = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (ev->data.scalar.plain_implicit && len == 0) {
        *out = Py_NewRef(Py_None);
        return OK;
    }
    PyObject *text = PyUnicode_DecodeUTF8(bytes, (Py_ssize_t)len, "strict");
    if (!text)
        return FAILED;
    /* typed() gives a word that starts with a letter its text unless it is one of YAML 1.1's
     * booleans or nulls (`false` is the longest) */
    int word = (bytes[0] | 0x20) >= 'a' && (bytes[0] | 0x20) <= 'z';
    if (!ev->data.scalar.plain_implicit || !strchr(TYPED_START, bytes[0]) || (word && len > 5)) {
        *out = text;
        return OK;
    }
    if (len <= 4000 && is_decimal(bytes, len)) {  /* `8080`, `-1`: an int, as typed() would make it,
                                                 * without the call (longer: typed() keeps the text) */
        *out = PyLong_FromUnicodeObject(text, 10);
        Py_DECREF(text);
        return *out ? OK : FAILED;
    }
    PyObject *value = PyObject_CallOneArg(typed_func, text);
    Py_DECREF(text);
    if (!value) {
        if (!PyErr_ExceptionMatches(unusual_type))
            return FAILED;
        PyErr_Clear();
        return UNSURE;
    }
    *out = value;
    return OK;
}

/* ------------------------------------------------------------------ documents */

typedef struct {
    PyObject *container;  /* the dict or list being filled */
    PyObject *path;       /* its path, a tuple */
    PyObject *name;       /* its dotted name, a str */
    PyObject *key;        /* a mapping's key awaiting its value, or NULL */
    PyObject *key_path;   /* path + (key,) while `key` is set */
    Py_ssize_t next;      /* a list's next index */
} frame_t;

typedef struct {
    yaml_parser_t parser;
    lines_t lines;
    frame_t stack[MAX_DEPTH];
    int depth;
    PyObject *keys, *values, *named;  /* the document's position dicts */
    long count;                       /* values and keys in the document */
} reader_t;

static void
pop_frame(reader_t *r)
{
    frame_t *f = &r->stack[--r->depth];
    Py_DECREF(f->container);
    Py_DECREF(f->path);
    Py_DECREF(f->name);
    Py_XDECREF(f->key);
    Py_XDECREF(f->key_path);
}

/* Places a node's value in its parent (or as the root) and records its position. Steals
 * `value`. A container becomes the top frame. */
static int
place_node(reader_t *r, const yaml_event_t *ev, PyObject *value, PyObject **root)
{
    int status = FAILED;
    PyObject *path = NULL, *name = NULL, *index = NULL;
    PyObject *pos = position(ev->start_mark);
    if (!pos)
        goto done;
    if (r->depth == 0) {
        *root = Py_NewRef(value);
        path = PyTuple_New(0);
        name = PyUnicode_New(0, 0);
        if (!path || !name || PyDict_SetItem(r->values, path, pos) < 0)
            goto done;
    } else {
        frame_t *f = &r->stack[r->depth - 1];
        if (PyDict_CheckExact(f->container)) {
            if (!f->key) {
                if (ev->type != YAML_SCALAR_EVENT) {
                    status = UNSURE;  /* a mapping or list as a key */
                    goto done;
                }
                f->key_path = extended(f->path, value);
                if (!f->key_path || PyDict_SetItem(r->keys, f->key_path, pos) < 0)
                    goto done;
                f->key = value;
                value = NULL;
                status = OK;
                goto done;
            }
            path = f->key_path;
            f->key_path = NULL;
            name = child_name(f->name, f->key);
            if (!name || PyDict_SetItem(f->container, f->key, value) < 0)
                goto done;
            Py_CLEAR(f->key);
        } else {
            Py_ssize_t i = f->next++;
            index = PyLong_FromSsize_t(i);
            path = index ? extended(f->path, index) : NULL;
            name = path ? item_name(f->name, i) : NULL;
            if (!name || PyList_Append(f->container, value) < 0)
                goto done;
        }
        if (PyDict_SetItem(r->values, path, pos) < 0 || PyDict_SetItem(r->named, name, pos) < 0)
            goto done;
    }
    if (ev->type != YAML_SCALAR_EVENT) {
        if (r->depth >= MAX_DEPTH) {
            status = UNSURE;
            goto done;
        }
        frame_t *f = &r->stack[r->depth++];
        f->container = value;
        f->path = path;
        f->name = name;
        f->key = f->key_path = NULL;
        f->next = 0;
        value = path = name = NULL;
    }
    status = OK;
done:
    Py_XDECREF(value);
    Py_XDECREF(path);
    Py_XDECREF(name);
    Py_XDECREF(index);
    Py_XDECREF(pos);
    return status;
}

/* One node event: its value, placed. */
static int
read_node(reader_t *r, const yaml_event_t *ev, PyObject **root)
{
    const yaml_char_t *anchor, *tag;
    if (ev->type == YAML_SCALAR_EVENT) {
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
    } else if (ev->type == YAML_MAPPING_START_EVENT) {
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
    } else {
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
    }
    if (anchor || tag || ++r->count > MAX_NODES)
        return UNSURE;
    PyObject *value;
    if (ev->type == YAML_SCALAR_EVENT) {
        int status = scalar_value(ev, &value);
        if (status != OK)
            return status;
    } else {
        value = ev->type == YAML_MAPPING_START_EVENT ? PyDict_New() : PyList_New(0);
        if (!value)
            return FAILED;
    }
    return place_node(r, ev, value, root);
}

static int
is_empty_scalar(const yaml_event_t *ev)
{
    if (ev->type != YAML_SCALAR_EVENT || !ev->data.scalar.plain_implicit)
        return 0;
    const char *text = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    return len == 0 || (len == 1 && text[0] == '~') || (len == 4 && memcmp(text, "null", 4) == 0);
}

/* The document after its DocumentStart event, into *out (NULL for an empty document). */
static int
read_document(reader_t *r, Py_ssize_t index, PyObject **out)
{
    int status = FAILED, empty = 0;
    PyObject *root = NULL;
    yaml_mark_t start = {0, 0, 0}, end = {0, 0, 0};
    *out = NULL;
    r->count = 0;
    r->keys = PyDict_New();
    r->values = PyDict_New();
    r->named = PyDict_New();
    if (!r->keys || !r->values || !r->named)
        goto done;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&r->parser, &ev)) {
            status = UNSURE;
            goto done;
        }
        yaml_event_type_t type = ev.type;
        status = OK;
        if (type == YAML_SCALAR_EVENT || type == YAML_MAPPING_START_EVENT || type == YAML_SEQUENCE_START_EVENT) {
            int at_root = r->depth == 0;
            if (at_root) {
                start = ev.start_mark;
                empty = is_empty_scalar(&ev);
            }
            status = read_node(r, &ev, &root);
            if (at_root && type == YAML_SCALAR_EVENT)
                end = ev.end_mark;
        } else if (type == YAML_MAPPING_END_EVENT || type == YAML_SEQUENCE_END_EVENT) {
            pop_frame(r);
            if (r->depth == 0)
                end = ev.end_mark;
        } else if (type != YAML_DOCUMENT_END_EVENT) {
            status = UNSURE;  /* an alias */
        }
        yaml_event_delete(&ev);
        if (status != OK)
            goto done;
        if (type == YAML_DOCUMENT_END_EVENT)
            break;
    }
    if (empty) {
        status = OK;
        goto done;
    }
    status = FAILED;
    PyObject *text = document_text(&r->lines, start, end);
    PyObject *first = text ? position(start) : NULL;
    if (first)
        *out = Py_BuildValue("(nOOOONN)", index, root, r->keys, r->values, r->named, text, first);
    else
        Py_XDECREF(text);
    if (*out)
        status = OK;
done:
    while (r->depth)
        pop_frame(r);
    Py_XDECREF(root);
    Py_CLEAR(r->keys);
    Py_CLEAR(r->values);
    Py_CLEAR(r->named);
    return status;
}

/* Every document of the stream (input already set), into the new list *out. */
static int
read_stream(reader_t *r, PyObject **out)
{
    yaml_event_t ev;
    PyObject *docs = PyList_New(0);
    if (!docs)
        return FAILED;
    int status = UNSURE;
    if (!yaml_parser_parse(&r->parser, &ev))  /* stream start */
        goto done;
    yaml_event_delete(&ev);
    for (;;) {
        if (!yaml_parser_parse(&r->parser, &ev)) {
            status = UNSURE;
            goto done;
        }
        yaml_event_type_t type = ev.type;
        yaml_event_delete(&ev);
        if (type != YAML_DOCUMENT_START_EVENT)
            break;
        PyObject *doc;
        status = read_document(r, PyList_GET_SIZE(docs), &doc);
        if (status != OK)
            goto done;
        if (doc) {
            int failed = PyList_Append(docs, doc) < 0;
            Py_DECREF(doc);
            if (failed) {
                status = FAILED;
                goto done;
            }
        }
    }
    status = OK;
    *out = docs;
    docs = NULL;
done:
    Py_XDECREF(docs);
    return status;
}

static PyObject *
yamlc_parse(PyObject *Py_UNUSED(module), PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "parse() takes a str, not %.100s", Py_TYPE(text)->tp_name);
        return NULL;
    }
    if (load_typed() != OK)
        return NULL;
    PyObject *encoded = NULL;
    const char *bytes;
    Py_ssize_t size;
    if (PyUnicode_IS_ASCII(text)) {
        bytes = (const char *)PyUnicode_DATA(text);
        size = PyUnicode_GET_LENGTH(text);
    } else {
        encoded = PyUnicode_AsUTF8String(text);
        if (!encoded) {  /* lone surrogates: the Python reader says what is wrong */
            PyErr_Clear();
            Py_RETURN_NONE;
        }
        bytes = PyBytes_AS_STRING(encoded);
        size = PyBytes_GET_SIZE(encoded);
    }
    reader_t *r = PyMem_Malloc(sizeof *r);  /* the stack needs no zeroing */
    if (!r) {
        Py_XDECREF(encoded);
        return PyErr_NoMemory();
    }
    memset(&r->lines, 0, sizeof r->lines);
    r->depth = 0;
    r->keys = r->values = r->named = NULL;
    r->lines.text = text;
    r->lines.kind = PyUnicode_KIND(text);
    r->lines.data = PyUnicode_DATA(text);
    r->lines.length = PyUnicode_GET_LENGTH(text);
    PyObject *docs = NULL;
    int status = FAILED;
    if (!yaml_parser_initialize(&r->parser)) {
        PyErr_NoMemory();
    } else {
        yaml_parser_set_input_string(&r->parser, (const unsigned char *)bytes, (size_t)size);
        status = read_stream(r, &docs);
        yaml_parser_delete(&r->parser);
    }
    PyMem_Free(r->lines.starts);
    PyMem_Free(r);
    Py_XDECREF(encoded);
    if (status == FAILED)
        return NULL;
    if (status == UNSURE)
        Py_RETURN_NONE;
    return docs;
}

static PyMethodDef yamlc_methods[] = {
    {"parse", yamlc_parse, METH_O,
     "parse(text) -> list of (index, value, keys, values, named, text, start) per non-empty document,\n"
     "or None where the Python reader must read `text` (errors, anchors, aliases, tags, ...)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef yamlc_module = {
    PyModuleDef_HEAD_INIT, "core.spec._yamlc",
    "Spec YAML with positions, read in C from libyaml's event stream.", -1, yamlc_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__yamlc(void)
{
    PyObject *module = PyModule_Create(&yamlc_module);
    if (!module)
        return NULL;
    if (PyModule_AddIntConstant(module, "MAX_DEPTH", MAX_DEPTH) < 0
        || PyModule_AddIntConstant(module, "MAX_NODES", MAX_NODES) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
