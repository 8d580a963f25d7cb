// tests/data/small_corpus.hpp: a few hundred short generated sentence pairs (a toy
// English-Spanish grammar) so tokenizer tests train in well under a second.
#pragma once

#include <string>
#include <vector>

namespace {

void small_corpus(std::vector<std::string> &en, std::vector<std::string> &es) {
    const char *subj_en[] = {"the dog", "the cat", "my friend", "the teacher", "a child", "the old man"};
    const char *subj_es[] = {"el perro", "el gato", "mi amigo", "el maestro", "un niño", "el anciano"};
    const char *verb_en[] = {"sees", "eats", "likes", "finds", "wants"};
    const char *verb_es[] = {"ve", "come", "quiere", "encuentra", "desea"};
    const char *obj_en[] = {"the bread", "an apple", "the house", "the river", "a book", "the music", "water"};
    const char *obj_es[] = {"el pan", "una manzana", "la casa", "el río", "un libro", "la música", "agua"};
    const char *when_en[] = {"", " today", " every day", " at night", " in the morning"};
    const char *when_es[] = {"", " hoy", " cada día", " por la noche", " por la mañana"};
    for (int s = 0; s < 6; s++)
        for (int v = 0; v < 5; v++)
            for (int o = 0; o < 7; o++)
                for (int w = 0; w < 5; w++) {
                    if ((s + v + o + w) % 2) continue;  // about half: 525 pairs
                    en.push_back(std::string(subj_en[s]) + " " + verb_en[v] + " " + obj_en[o] + when_en[w] + ".");
                    es.push_back(std::string(subj_es[s]) + " " + verb_es[v] + " " + obj_es[o] + when_es[w] + ".");
                }
}

}  // namespace
