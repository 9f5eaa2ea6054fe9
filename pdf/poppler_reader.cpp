#include "pdf/poppler_reader.hpp"

#include <poppler/ErrorCodes.h>
#include <poppler/GlobalParams.h>
#include <poppler/Link.h>
#include <poppler/Outline.h>
#include <poppler/PDFDoc.h>
#include <poppler/TextOutputDev.h>
#include <poppler/UTF.h>
#include <poppler/goo/GooString.h>
#include <poppler/goo/gmem.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <mutex>
#include <unordered_map>

#include "config/errors.hpp"
#include "pdf/text_util.hpp"

namespace jobserver::pdf::detail {

namespace {

constexpr std::size_t kMaxLineBytes = 4000;
constexpr std::size_t kMaxPageBytes = 1 << 20;
constexpr std::size_t kMaxPageLines = 20000;
constexpr int kMaxOutlineItems = 5000;
constexpr int kMaxOutlineDepth = 3;
constexpr std::size_t kMaxTitleCodePoints = 1000;

void ignore_poppler_error(ErrorCategory, Goffset, const char*) {}

/// Poppler's global parameters are created once per process; its own error output (which
/// hostile files can make very long) is silenced.
void init_poppler() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (!globalParams) globalParams = std::make_unique<GlobalParams>();
    setErrorCallback(&ignore_poppler_error);
  });
}

[[noreturn]] void damaged(const std::string& why, errc code = errc::invalid_input) {
  throw app_error(code, "PDF is damaged or not a PDF: " + why, false);
}

std::string to_utf8(const Unicode* u, int n) {
  std::string out;
  if (!u || n <= 0) return out;
  auto count = std::min<std::size_t>(static_cast<std::size_t>(n), kMaxTitleCodePoints);
  for (std::size_t i = 0; i < count; ++i) append_code_point(out, u[i]);
  return collapse_spaces(out);
}

/// Font traits of one TextFontInfo, from its flags and its name ("ABCDEF+Foo-BoldItalic",
/// TeX's "CMBX12" / "CMTT10", ...).
struct font_traits {
  bool bold = false;
  bool mono = false;
};

font_traits classify_font(const TextFontInfo* info) {
  font_traits t;
  if (!info) return t;
  t.bold = info->isBold();
  t.mono = info->isFixedWidth();
  const GooString* name = info->getFontName();
  if (!name) return t;
  std::string n = name->toStr();
  if (auto plus = n.find('+'); plus != std::string::npos && plus < 8) n.erase(0, plus + 1);
  for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto has = [&](const char* s) { return n.find(s) != std::string::npos; };
  t.bold = t.bold || has("bold") || has("black") || has("heavy") || has("demi") || has("cmbx") ||
           has("cmb10") || has("sfbx") || has("ptmb") || has("phvb") || has("pplb") || has(",bd") ||
           has("-bd");
  t.mono = t.mono || has("mono") || has("courier") || has("cmtt") || has("sftt") ||
           has("typewriter") || has("consolas") || has("pcrr") || has("pcrb") || has("menlo");
  return t;
}

/// Coordinates and sizes of hostile files can be NaN, infinite or absurd.
float finite(double v, double limit = 1e6) {
  if (!std::isfinite(v)) return 0;
  return static_cast<float>(std::clamp(v, -limit, limit));
}

bool abort_check(void* data) {
  const auto* stop = static_cast<const std::function<bool()>*>(data);
  return *stop && (*stop)();
}

bool skip_annotation(Annot*, void*) {
  return false;
}

}  // namespace

void check_pdf_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw app_error(errc::not_found, "PDF file cannot be read", false);
  const auto size = static_cast<std::size_t>(in.tellg());
  if (size == 0) damaged("the file is empty", errc::unsupported);
  std::string head(std::min<std::size_t>(size, 1024), '\0');
  in.seekg(0);
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  if (head.find("%PDF-") == std::string::npos) {
    damaged("the file does not start with a PDF header", errc::unsupported);
  }
  std::string tail(std::min<std::size_t>(size, std::size_t{16} * 1024), '\0');
  in.seekg(static_cast<std::streamoff>(size - tail.size()));
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  if (!in) throw app_error(errc::not_found, "PDF file cannot be read", false);
  if (tail.find("%%EOF") == std::string::npos) {
    damaged("the file is truncated (it has no end-of-file marker)");
  }
}

poppler_reader::poppler_reader(const std::string& path) {
  init_poppler();
  doc_ = std::make_unique<PDFDoc>(std::make_unique<GooString>(path));
  if (!doc_->isOk()) {
    switch (doc_->getErrorCode()) {
      case errEncrypted:
        throw app_error(errc::unsupported, "PDF is password-protected", false);
      case errOpenFile:
        throw app_error(errc::not_found, "PDF file cannot be read", false);
      default:
        damaged("Poppler cannot parse its structure");
    }
  }
  pages_ = doc_->getNumPages();
  if (pages_ <= 0) damaged("it has no readable pages");
  // Text in reading order (not physical layout), diagonal text (watermarks) discarded.
  dev_ = std::make_unique<TextOutputDev>(nullptr, false, 0, false, false, true);
  if (!dev_->isOk()) throw app_error(errc::internal, "cannot set up PDF text extraction", true);
}

poppler_reader::~poppler_reader() = default;

std::string poppler_reader::metadata_title() const {
  std::unique_ptr<GooString> title = doc_->getDocInfoTitle();
  if (!title || title->getLength() == 0) return {};
  Unicode* u = nullptr;
  int n = TextStringToUCS4(title->toStr(), &u);
  std::string out = to_utf8(u, n);
  gfree(u);
  return out;
}

std::vector<outline_item> poppler_reader::outline() const {
  Outline* outline = doc_->getOutline();
  if (!outline || !outline->getItems()) return {};
  int budget = kMaxOutlineItems;

  auto resolve = [this](const OutlineItem* item, outline_item& out) {
    const LinkAction* action = item->getAction();
    if (!action || action->getKind() != actionGoTo) return;
    const auto* go_to = static_cast<const LinkGoTo*>(action);
    std::unique_ptr<LinkDest> named;
    const LinkDest* dest = go_to->getDest();
    if (!dest && go_to->getNamedDest()) {
      named = doc_->findDest(go_to->getNamedDest());
      dest = named.get();
    }
    if (!dest || !dest->isOk()) return;
    int page = dest->isPageRef() ? doc_->findPage(dest->getPageRef()) : dest->getPageNum();
    if (page < 1 || page > pages_) return;
    out.page = page;
    const auto kind = dest->getKind();
    bool has_top = (kind == destXYZ && dest->getChangeTop()) || kind == destFitH ||
                   kind == destFitBH || kind == destFitR;
    Page* p = doc_->getPage(page);
    if (has_top && p && p->getRotate() == 0) {
      float top = finite(p->getCropBox()->y2 - dest->getTop());
      if (top >= 0 && top <= p->getCropHeight()) out.top = top;
    }
  };

  std::function<std::vector<outline_item>(const std::vector<OutlineItem*>*, int)> convert =
      [&](const std::vector<OutlineItem*>* items, int depth) {
        std::vector<outline_item> result;
        if (!items) return result;
        for (OutlineItem* item : *items) {
          if (!item || --budget < 0) break;
          outline_item out;
          out.title = to_utf8(item->getTitle(), item->getTitleLength());
          resolve(item, out);
          if (depth + 1 < kMaxOutlineDepth && item->hasKids()) {
            item->open();
            out.children = convert(item->getKids(), depth + 1);
          }
          result.push_back(std::move(out));
        }
        return result;
      };
  return convert(outline->getItems(), 0);
}

page_text poppler_reader::read_page(int number, const std::function<bool()>& stop) {
  page_text page;
  page.number = number;
  if (number < 1 || number > pages_ || !doc_->getPage(number)) return page;
  page.width = finite(doc_->getPageCropWidth(number));
  page.height = finite(doc_->getPageCropHeight(number));
  if (doc_->getPageRotate(number) % 180 != 0) std::swap(page.width, page.height);

  dev_->startPage(number, nullptr, nullptr);  // drops what the previous page left behind
  doc_->displayPage(dev_.get(), number, 72, 72, 0, false, true, false, &abort_check,
                    const_cast<std::function<bool()>*>(&stop), &skip_annotation, nullptr);

  std::unordered_map<const TextFontInfo*, font_traits> fonts;
  std::size_t page_bytes = 0;
  uint16_t block_index = 0;
  for (const TextFlow* flow = dev_->getFlows(); flow; flow = flow->getNext()) {
    for (const TextBlock* block = flow->getBlocks(); block; block = block->getNext()) {
      if (block_index < UINT16_MAX) ++block_index;
      for (const TextLine* tl = block->getLines(); tl; tl = tl->getNext()) {
        if (page.lines.size() >= kMaxPageLines || page_bytes >= kMaxPageBytes) return page;
        text_line line;
        line.block = block_index;
        double size_sum = 0;
        std::size_t chars = 0, bold = 0, mono = 0;
        bool first = true;
        for (const TextWord* w = tl->getWords(); w; w = w->getNext()) {
          if (w->getRotation() % 2 != 0) continue;  // vertical margin text
          const int n = w->getLength();
          if (line.text.size() < kMaxLineBytes) {
            for (int i = 0; i < n; ++i) append_code_point(line.text, *w->getChar(i));
            if (w->getSpaceAfter()) line.text += ' ';
          }
          const TextFontInfo* info = n > 0 ? w->getFontInfo(0) : nullptr;
          auto it = fonts.find(info);
          if (it == fonts.end()) it = fonts.emplace(info, classify_font(info)).first;
          chars += static_cast<std::size_t>(n);
          bold += it->second.bold ? static_cast<std::size_t>(n) : 0;
          mono += it->second.mono ? static_cast<std::size_t>(n) : 0;
          size_sum += static_cast<double>(finite(w->getFontSize(), 1000)) * n;
          double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
          w->getBBox(&x0, &y0, &x1, &y1);
          if (first) {
            line.x0 = finite(x0), line.top = finite(y0);
            line.x1 = finite(x1), line.bottom = finite(y1);
            first = false;
          } else {
            line.x0 = std::min(line.x0, finite(x0));
            line.top = std::min(line.top, finite(y0));
            line.x1 = std::max(line.x1, finite(x1));
            line.bottom = std::max(line.bottom, finite(y1));
          }
        }
        line.text = truncate_utf8(collapse_spaces(line.text), kMaxLineBytes);
        if (line.text.empty() || chars == 0) continue;
        line.size = std::max(0.0f, finite(size_sum / static_cast<double>(chars), 1000));
        line.bold = bold * 10 >= chars * 9;
        line.mono = mono * 10 >= chars * 9;
        page_bytes += line.text.size();
        page.lines.push_back(std::move(line));
      }
    }
  }
  return page;
}

}  // namespace jobserver::pdf::detail
