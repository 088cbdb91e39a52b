// Similarity of answers: TF-IDF cosine over word unigrams and bigrams.
//
// Why this method: the answers of one question x model are short paragraphs that share most of
// their words when they agree and differ in framing when they do not. Cosine over TF-IDF weights
// counts repeated content (Jaccard ignores frequency), down-weights the words every answer of the
// group uses (IDF over the group's answers), and bigrams catch framing phrases ("inalienable part",
// "rule of law") that single words miss. It is exact and deterministic; MinHash would only
// approximate Jaccard, which pays off for deduplicating millions of long documents, not here.
//
// Cosine of unit vectors is a dot product, so the mean similarity between every answer of region A
// and every answer of region B equals the dot product of the two regions' centroids (means of the
// unit vectors), and the mean similarity within a region over pairs i != j is
// (n * |c|^2 - 1) / (n - 1). Both cost O(answers), not O(answers^2).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace beacon::analysis {

// Sparse vector: (feature id, weight), sorted by feature id.
using sparse_vector = std::vector<std::pair<uint32_t, double>>;

// TF-IDF unit vectors of documents given as tokens, in one feature space: tf = 1 + ln(count),
// idf = ln((1 + N) / (1 + df)) + 1 (smoothed, so a word in every answer still counts), L2-normed.
// An empty document gives an empty vector. `features` receives the size of the space.
std::vector<sparse_vector> tfidf_unit_vectors(const std::vector<std::vector<std::string>>& docs,
                                              size_t& features);

double dot(const sparse_vector& a, const sparse_vector& b);

// Mean of unit vectors, dense over the feature space.
struct centroid {
  std::vector<double> sum;
  int64_t n = 0;
  void add(const sparse_vector& v);
  double dot(const centroid& other) const;  // mean pairwise similarity between the two sets
  double within() const;                    // mean similarity over pairs i != j (needs n >= 2)
};

}  // namespace beacon::analysis
