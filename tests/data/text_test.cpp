// The character corpus: files, UTF-8, vocabulary, windows and the validation split, against
// Python's decoding and NumPy windows (tests/reference/text_reference.py).
#include <filesystem>
#include <fstream>
#include <set>

#include "cajal/data/text.h"
#include "cajal/io/npy.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace cajal {
namespace {

void write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// What the reference script read and computed for `corpus`, windows of seq_len every stride.
struct Reference {
  std::string dir;
  std::vector<std::string> files;
  Tensor load(const std::string& name) const { return load_npy(dir + "/" + name + ".npy"); }
};

Reference reference(const std::string& corpus, int64_t seq_len, int64_t stride, int64_t val_begin, int64_t val_end) {
  Reference ref{test::temp_dir(), {}};
  std::string args = ref.dir + " " + corpus + " " + std::to_string(seq_len) + " " + std::to_string(stride) + " " +
                     std::to_string(val_begin) + " " + std::to_string(val_end);
  EXPECT_TRUE(test::run_reference("text_reference.py", args));
  std::ifstream list(ref.dir + "/files.txt");
  for (std::string line; std::getline(list, line);) ref.files.push_back(line);
  return ref;
}

Tensor code_points(const data::CharVocabulary& vocab) {
  std::vector<int64_t> points;
  for (const std::string& name : vocab.names()) points.push_back(data::decode_utf8(name)[0]);
  return from_vector(points);
}

// A small corpus with multi-byte characters, CRLF line ends, a binary file, a symbolic link
// and a sub-folder (the last three are not read).
std::string small_corpus() {
  std::string dir = test::temp_dir();
  std::string text;
  const char* lines[] = {"Héllo, wörld!\r\n", "Æsop's fables € 𝄞\n", "the quick brown fox\n", "%\n", "tab\there\n"};
  for (int i = 0; i < 60; ++i) text += lines[(i * 7) % 5];
  write(dir + "/b", text);
  write(dir + "/a", "A short first file.\n");
  write(dir + "/a.dat", std::string("\0\0\1\2index", 9));
  fs::create_symlink(dir + "/b", dir + "/b.u8");
  fs::create_directory(dir + "/sub");
  write(dir + "/sub/c", "not read");
  return dir;
}

TEST(CharCorpus, SmallCorpusMatchesPython) {
  std::string corpus = small_corpus();
  std::vector<std::string> files = data::text_files({corpus});
  std::u32string text = data::read_text({corpus});
  data::CharVocabulary vocab(text);
  Tensor tokens = vocab.encode(text);
  data::CharWindows w = data::char_windows(tokens, {.seq_len = 16, .stride = 5, .validation = 0.2, .seed = 3});
  EXPECT_EQ(w.val_end - w.val_begin, std::llround(0.2 * static_cast<double>(text.size())));

  Reference ref = reference(corpus, 16, 5, w.val_begin, w.val_end);
  EXPECT_EQ(files, ref.files);
  EXPECT_TRUE(test::all_close(code_points(vocab), ref.load("vocab")));
  EXPECT_TRUE(test::all_close(tokens, ref.load("tokens")));
  data::Batch train = test::all_examples(*w.train), val = test::all_examples(*w.val);
  EXPECT_TRUE(test::all_close(train.input, ref.load("train_inputs")));
  EXPECT_TRUE(test::all_close(train.target, ref.load("train_targets")));
  EXPECT_TRUE(test::all_close(val.input, ref.load("val_inputs")));
  EXPECT_TRUE(test::all_close(val.target, ref.load("val_targets")));
  EXPECT_EQ(vocab.decode(tokens), data::encode_utf8(text));
}

TEST(CharCorpus, FortunesMatchPython) {
  const std::string corpus = "/usr/share/games/fortunes";
  if (!fs::exists(corpus)) GTEST_SKIP() << "the fortunes package is not installed";
  std::u32string text = data::read_text({corpus});
  data::CharVocabulary vocab(text);
  Tensor tokens = vocab.encode(text);
  data::CharWindows w = data::char_windows(tokens, {.seq_len = 256, .validation = 0.05, .seed = 0});
  Reference ref = reference(corpus, 256, 256, w.val_begin, w.val_end);
  EXPECT_EQ(data::text_files({corpus}), ref.files);
  EXPECT_EQ(ref.files.size(), 43u);  // the text files, not the .dat indexes nor the .u8 links
  EXPECT_TRUE(test::all_close(code_points(vocab), ref.load("vocab")));
  EXPECT_TRUE(test::all_close(tokens, ref.load("tokens")));
  EXPECT_TRUE(test::all_close(test::all_examples(*w.val).target, ref.load("val_targets")));
  EXPECT_EQ(w.train->size(), ref.load("train_inputs").size(0));
}

TEST(CharCorpus, SplitIsSeededAndKeepsPartsApart) {
  // Tokens 0, 1, 2, ...: a window's first token is its position in the text.
  Tensor tokens = arange(0, 1000, 1, DType::i64);
  auto split = [&](uint64_t seed) { return data::char_windows(tokens, {.seq_len = 10, .validation = 0.1, .seed = seed}); };
  EXPECT_EQ(split(5).val_begin, split(5).val_begin);
  std::set<int64_t> begins;
  for (uint64_t seed = 0; seed < 8; ++seed) begins.insert(split(seed).val_begin);
  EXPECT_GT(begins.size(), 4u);
  for (uint64_t seed = 0; seed < 8; ++seed) {
    data::CharWindows w = split(seed);
    EXPECT_EQ(w.val_end - w.val_begin, 100);
    // Every character of a window, inputs and targets, lies in the window's own part.
    for (int64_t i = 0; i < w.train->size(); ++i) {
      int64_t first = w.train->get(i).input[0].item<int64_t>(), last = first + 10;
      EXPECT_TRUE(last < w.val_begin || first >= w.val_end) << "training window at " << first;
    }
    for (int64_t i = 0; i < w.val->size(); ++i) {
      int64_t first = w.val->get(i).input[0].item<int64_t>();
      EXPECT_TRUE(first >= w.val_begin && first + 10 < w.val_end) << "validation window at " << first;
    }
    EXPECT_EQ(w.val->size(), 9);  // 100 characters: windows of 11 every 10
  }
}

TEST(CharCorpus, Errors) {
  test::expect_error<IOError>([] { data::decode_utf8("ok\xc3(", "f.txt"); }, {"f.txt: invalid UTF-8 at byte 2"});
  test::expect_error<IOError>([] { data::decode_utf8("\xc0\xaf"); }, {"invalid UTF-8 at byte 0"});  // overlong '/'
  data::CharVocabulary vocab(U"abc ");
  test::expect_error<ValueError>([&] { vocab.encode(U"a\nb", "prompt"); },
                                 {"prompt: character U+000A at position 1 is not in the vocabulary (4 characters)"});
  test::expect_error<IndexError>([&] { vocab.decode(tensor({0, 4})); }, {"token 4 is out of range for 4 characters"});
  test::expect_error<ValueError>([] { data::CharVocabulary::from_names({"a", "bc"}); }, {"entry 1 is \"bc\""});
  test::expect_error<ValueError>([&] { data::char_windows(vocab.encode(U"abcabc"), {.seq_len = 6}); },
                                 {"holds no training window of 7 characters"});
  test::expect_error<IOError>([] { data::text_files({"/no/such/corpus"}); }, {"/no/such/corpus: no such file"});
  data::CharVocabulary back = data::CharVocabulary::from_names(vocab.names());
  EXPECT_TRUE(test::all_close(back.encode(U"cab "), vocab.encode(U"cab ")));
}

}  // namespace
}  // namespace cajal
